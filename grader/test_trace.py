"""The scheduler trace (issue 16; stage4_tagging/src/trace.cpp), as a user
runs it: the latest present stage installed into a temporary prefix, a program
built against it with pkg-config, run with GREEN_TRACE=<file>. The file must
load as JSON and hold a well-formed Chrome/Perfetto trace: every event has its
fields, the slices of a thread nest, every flow arrow starts on a Ready slice
and ends on the start of a run of the same task, and the runs say what ended
them (a join here; from phase 3 a preemption, from phase 4 a mutex and a
sleep, from phase 5 an fd). Skipped before stage 4."""

import json
import os
import subprocess
from collections import Counter, defaultdict

import pytest

from grader import outside, stages

STEP = 180  # seconds: a build, or a run

PROGRAM = r"""
#include <green/green.hpp>
#include <green/trace.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <unistd.h>

#if __has_include(<green/mutex.hpp>)
#define HAS_SYNC 1
#endif
#if __has_include(<green/io.hpp>)
#define HAS_IO 1
#endif
#if __has_include(<green/no_preempt.hpp>)
#define HAS_PREEMPT 1
#endif

// Yields until green::dump_tasks' text holds `what`.
void until_dumped(const char* what) {
  for (std::string text; text.find(what) == std::string::npos;) {
    green::this_task::yield();
    std::FILE* f = std::tmpfile();
    green::dump_tasks(f);
    std::rewind(f);
    char buf[4096];
    text.clear();
    while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) text.append(buf, n);
    std::fclose(f);
  }
}

int main(int argc, char** argv) {
  // A window of its own (argv[1]): under GREEN_TRACE, which traces the whole
  // run, it must be ignored, not cut that trace short or throw.
  if (argc > 1) green::trace_start(argv[1]);
  green::Runtime rt({.workers = 2});
  rt.run([] {
    std::atomic<bool> go{false};
    green::TaskHandle spinner = green::spawn([&] {
      while (!go.load()) green::this_task::yield();
    }, {.name = "spinner"});
    green::TaskHandle joiner = green::spawn([&] { spinner.join(); }, {.name = "joiner"});
#ifdef HAS_PREEMPT
    // Three that never yield, on two workers: only preemption switches one
    // out (30 ms each, 10 ms slices) to let the third run.
    green::TaskHandle hogs[3];
    for (auto& h : hogs)
      h = green::spawn([] {
        auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(30);
        while (std::chrono::steady_clock::now() < end)  // in our own code, where a tick may preempt
          for (volatile int i = 0; i < 100000; i = i + 1) {}
      }, {.name = "hog"});
#endif
#ifdef HAS_SYNC
    // The holder keeps the lock, sleeping, until the dump shows the waiter
    // parked on it. (A fixed sleep is not enough: with the hogs on both
    // workers, timers fire at their preemptions, late and in either order.)
    green::Mutex m;
    std::atomic<bool> held{false}, release{false};
    green::TaskHandle holder = green::spawn([&] {
      std::lock_guard lk(m);
      held.store(true);
      while (!release.load()) green::this_task::sleep_for(std::chrono::milliseconds(1));
    }, {.name = "holder"});
    while (!held.load()) green::this_task::sleep_for(std::chrono::milliseconds(1));
    green::TaskHandle waiter = green::spawn([&] { std::lock_guard lk(m); }, {.name = "waiter"});
    until_dumped("\"waiter\" [waiting: green::Mutex");
    release.store(true);
    holder.join();
    waiter.join();
#endif
#ifdef HAS_IO
    int fds[2];
    if (pipe(fds) != 0) return;
    green::TaskHandle reader = green::spawn([&] {
      char c;
      green::io::read(fds[0], &c, 1);
    }, {.name = "reader"});
    green::this_task::sleep_for(std::chrono::milliseconds(2));
    green::io::write(fds[1], "x", 1);
    reader.join();
    green::io::close(fds[0]);
    green::io::close(fds[1]);
#endif
    // Let the spinner end once the joiner is parked in join (as the dump says).
    until_dumped("\"joiner\" [waiting: join");
    go.store(true);
    joiner.join();
#ifdef HAS_PREEMPT
    for (auto& h : hogs) h.join();
#endif
  });
  if (argc > 1 && green::trace_stop() != 0) return 3;  // 0: it wrote nothing
  green::Runtime after({.workers = 1});
  after.run([] { green::spawn([] {}, {.name = "after-the-window"}).join(); });
}
"""


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    """(events, otherData, the stage traced) from one traced run of PROGRAM."""
    present = stages.present_stages()
    if "stage4_tagging" not in present:
        pytest.skip("the trace comes with stage 4")
    out = tmp_path_factory.mktemp("trace")
    prefix = out / "prefix"
    outside.run(["make", "--no-print-directory", "-C", stages.ROOT, "install", f"PREFIX={prefix}", "MODE=release",
                 "CONTEXT=asm"], "make install", STEP)
    (out / "prog.cpp").write_text(PROGRAM)
    e = {**outside.env(), "PKG_CONFIG_PATH": str(prefix / "lib" / "pkgconfig")}
    flags = outside.run(["pkg-config", "--cflags", "--libs", "green"], "pkg-config green", STEP, env=e).split()
    outside.run(["g++", "-O1", str(out / "prog.cpp"), *flags, "-o", str(out / "prog")], "building the program", STEP)
    path, window = out / "trace.json", out / "window.json"
    said = outside.run([str(out / "prog"), str(window)], "the traced program", STEP, both=True,
                       env={**outside.env(), "GREEN_TRACE": str(path)})
    assert path.is_file(), "GREEN_TRACE=<file> wrote no file"
    data = json.loads(path.read_text())  # fails here if it is not JSON
    return data["traceEvents"], data["otherData"], present[-1], said, window


def stage_at_least(stage, name):
    order = stages.present_stages()
    return name in order and order.index(stage) >= order.index(name)


def test_every_event_has_the_fields_a_viewer_needs(trace):
    events, other, *_ = trace
    assert other["dropped"] == 0
    for e in events:
        assert {"ph", "pid", "tid", "name"} <= e.keys(), e
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "thread_name") and "name" in e["args"], e
            continue
        assert {"ts", "cat"} <= e.keys(), e
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0, e
        if e["ph"] == "X":
            assert e["dur"] >= 0, e
        else:
            assert e["ph"] in ("s", "f") and isinstance(e["id"], int), e
    names = {e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert any(n.startswith("green-w") for n in names), f"no worker track is named: {names}"


def test_slices_of_a_thread_nest(trace):
    events, *_ = trace
    by_tid = defaultdict(list)
    for e in events:
        if e["ph"] == "X":
            by_tid[e["tid"]].append((e["ts"], -e["dur"], e))
    eps = 0.0005  # µs: the file's precision
    for tid, slices in by_tid.items():
        open_ends = []
        for ts, neg_dur, e in sorted(slices, key=lambda s: (s[0], s[1])):
            while open_ends and open_ends[-1] <= ts + eps and not (abs(open_ends[-1] - ts) <= eps and neg_dur == 0):
                open_ends.pop()
            if open_ends:
                assert ts - neg_dur <= open_ends[-1] + eps, f"{e} overlaps its enclosing slice on thread {tid}"
            open_ends.append(ts - neg_dur)


def is_run(e):
    return e["ph"] == "X" and e["cat"] == "task" and "ended" in e["args"]


def is_ready(e):
    return e["ph"] == "X" and e["cat"] == "task" and "ready" in e["args"]


def test_every_arrow_joins_a_ready_to_the_run_it_led_to(trace):
    events, other, *_ = trace
    ready_at = {(e["tid"], e["ts"]): e for e in events if is_ready(e)}
    run_at = {(e["tid"], e["ts"]): e for e in events if is_run(e)}
    starts = {e["id"]: e for e in events if e["ph"] == "s"}
    ends = {e["id"]: e for e in events if e["ph"] == "f"}
    assert starts.keys() == ends.keys() and len(starts) == other["flows"]
    # Both ends of an arrow share its category and name (Perfetto pairs them
    # by id, category and name) and the category of the slice they bind to
    # (Chrome binds by category, thread and time).
    assert all((e["cat"], e["name"]) == ("task", "ready") for e in [*starts.values(), *ends.values()])
    runs = [e for e in events if is_run(e)]
    assert len(ends) == len(runs), "every run has the arrow of the Ready that led to it"
    for i, s in starts.items():
        f = ends[i]
        ready, run = ready_at.get((s["tid"], s["ts"])), run_at.get((f["tid"], f["ts"]))
        assert ready, f"flow {i} starts on no Ready slice: {s}"
        assert run, f"flow {i} ends on no run's start: {f}"
        assert ready["args"]["task"] == run["args"]["task"], f"flow {i} joins two tasks: {ready} {run}"
        assert s["ts"] <= f["ts"]
    assert any(starts[i]["tid"] != ends[i]["tid"] for i in starts), "no arrow crosses threads (2 workers, a spawn from main)"


def test_runs_say_what_ended_them(trace):
    events, _, stage, *_ = trace
    runs = defaultdict(list)
    for e in events:
        if is_run(e):
            runs[e["name"]].append(e["args"])
    ended = {name: Counter(a["ended"] for a in args) for name, args in runs.items()}
    waits = {name: {a.get("wait") for a in args} for name, args in runs.items()}
    assert ended["spinner"]["yield"] >= 1 and ended["spinner"]["exit"] == 1, ended["spinner"]
    assert "join" in waits["joiner"], f"the joiner parks in join: {runs['joiner']}"
    joined = next(a for a in runs["joiner"] if a.get("wait") == "join")
    spinner_id = runs["spinner"][0]["task"]
    assert joined["on"] == spinner_id, f"the joiner waits on the spinner's id {spinner_id}: {joined}"
    if stage_at_least(stage, "phase3_preempt"):
        assert ended["hog"]["preempted"] >= 1, f"the hog never yields; only preemption switched it: {runs['hog']}"
        assert any(is_ready(e) and e["args"]["ready"] == "preempt" for e in events)
    if stage_at_least(stage, "phase4_sync"):
        assert "sleep" in waits["holder"], runs["holder"]
        assert any(w and "Mutex" in w for w in waits["waiter"]), f"the waiter parks on the mutex: {runs['waiter']}"
        assert any(e["name"] == "timers" for e in events if e["ph"] == "X"), "sleeps end by timers firing"
    if stage_at_least(stage, "phase5_io"):
        assert "io read" in waits["reader"], runs["reader"]
    workers = {e["name"] for e in events if e["ph"] == "X" and e["cat"] == "worker"}
    assert "idle" in workers, workers


def test_the_programs_own_window_is_ignored_under_green_trace(trace):
    events, _, _, said, window = trace
    assert "GREEN_TRACE traces the whole run" in said, f"the ignored trace_start was not reported:\n{said}"
    assert not window.exists(), "trace_start under GREEN_TRACE opened the program's own file"
    names = {e["name"] for e in events if is_run(e)}
    assert "after-the-window" in names, "the program's trace_stop cut GREEN_TRACE's trace short"
