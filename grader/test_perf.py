"""Which perf checks run where, which runs they share, how benchmarks are
found, bounds and messages, checks needing 2 CPUs (no program runs:
run_program and run_pair are replaced by fakes that count calls, and
perf.cpus by a fake CPU count)."""

import string
from dataclasses import replace

import pytest

from grader import grade, perf
from grader.results import FAIL, PASS, SKIP, Component

LATEST = "phase3_preempt"


def names(stage, latest=LATEST):
    return [c.name for c in perf.checks_for(stage, latest)]


def test_an_earlier_stage_runs_only_its_own_checks():
    assert names("stage3_stealing") == [c.name for c in perf.CHECKS["stage3_stealing"]]


def test_the_latest_stage_runs_every_earlier_stages_checks_too():
    got = names(LATEST)
    assert "yield vs stage 4" in got
    assert "yield vs stage 1 (stage3_stealing's check, on phase3_preempt)" in got
    assert "context switch (stage1_context's check, on phase3_preempt)" in got
    earlier = sum(len(perf.CHECKS[s]) for s in ("stage1_context", "stage2_queues",
                                                 "stage3_stealing", "stage4_tagging"))
    assert len(got) == len(perf.CHECKS[LATEST]) + len(perf.LATEST_CHECKS) + earlier
    park = next(c for c in perf.checks_for(LATEST, LATEST) if c.name.startswith("park/unpark"))
    assert park.baseline[0] == "stage3_stealing"   # keeps its baseline


def test_a_latest_check_needs_its_baseline_stage_before_it():
    assert "yield vs stage 4" not in names("stage4_tagging", latest="stage4_tagging")


def test_a_paired_runs_halves_serve_checks_of_the_same_program_and_args(monkeypatch, tmp_path):
    calls = []
    results = perf.BenchResults("runtime", {"benchmarks": [
        {"name": perf.YIELD + "/iterations:1/real_time", "rt_ns": 40.0, "local_ns": 35.0, "ratio": 1.14}]})
    monkeypatch.setattr(perf, "run_pair", lambda *a: calls.append(a) or ((results, results), ""))
    monkeypatch.setattr(perf, "run_program", lambda *a: calls.append(a) or (results, ""))
    for stage in (LATEST, "stage4_tagging"):
        (tmp_path / stage).mkdir()
        (tmp_path / stage / "runtime").touch()
    yields = [c for c in perf.checks_for(LATEST, LATEST) if c.name.startswith("yield")]
    items = perf.run_checks(yields, tmp_path / LATEST, lambda stage: tmp_path / stage)
    assert [i.status for i in items] == [perf.PASS, perf.PASS]
    assert "40.0 ns per yield, stage 4's build 40.0 ns" in items[0].output
    assert len(calls) == 1   # the pair only


def test_benchmarks_are_found_by_family_and_arguments():
    assert perf.benchmark_key("BM_FibFine/1/iterations:1/real_time") == "BM_FibFine/1"
    assert perf.benchmark_key("BM_ParkedTaskMemory/N:1000/S:2048/min_time:0.5") == \
        "BM_ParkedTaskMemory/N:1000/S:2048"
    results = perf.BenchResults("runtime", {"benchmarks": [
        {"name": "BM_FibFine/1/repeats:3/process_time_median", "aggregate_name": "median",
         "run_name": "BM_FibFine/1/repeats:3/process_time", "seconds": 2.0},
        {"name": "BM_FibFine/2/threads:1", "seconds": 1.0},
        {"name": "BM_FibFineX/1", "seconds": 9.0}]})
    assert perf._pair(results, "seconds", "BM_FibFine/1", "BM_FibFine/2") == (2.0, 1.0, 2.0)
    with pytest.raises(perf.MissingBenchmark, match="BM_FibFine/3"):
        results.median_counter("BM_FibFine/3", "seconds")


def test_fib_scaling_is_the_median_of_paired_speedups():
    # Pairs (one_s, two_s): a slow stretch hit the 2-worker side of one pair.
    pairs = [(2.0, 1.0), (2.1, 1.0), (2.0, 1.6), (1.9, 1.0), (2.2, 1.1)]
    results = perf.BenchResults("runtime", {"benchmarks": [
        {"name": "BM_FibScaling/iterations:1/real_time", "one_s": a, "two_s": b, "speedup": a / b}
        for a, b in pairs]})
    f = perf._fib_figures(results)
    assert f["speedup"] == 2.0 and f["one_s"] == 2.0 and f["two_s"] == 1.0


def test_a_bound_gives_both_the_verdict_and_the_message():
    check = perf.PerfCheck(name="c", program="p", args=(), figures=None,
                           bounds=(perf.Bound("a b", "<=", 1.5, "{op} {value:g}x"),),
                           describe="{a:.1f}x and {b:.1f}x ({need[b]})")
    assert check.passes({"a": 1.5, "b": 1.0}) and not check.passes({"a": 1.6, "b": 1.0})
    assert check.message({"a": 1.5, "b": 1.0}) == "1.5x and 1.0x (need <= 1.5x)"


def every_check():
    own = [c for checks in perf.CHECKS.values() for c in checks]
    return own + [c.rerun for c in own if c.rerun] + perf.LATEST_CHECKS


def test_the_latest_stages_reruns_are_lighter():
    reruns = {c.name: c for c in perf.checks_for(LATEST, LATEST) if "'s check, on " in c.name}
    memory = reruns[f"memory per task (stage4_tagging's check, on {LATEST})"]
    assert memory.args == ("--benchmark_filter=N:100000/|BM_QueuedTaskMemory",)
    assert all(c.repeats <= perf.RERUN_REPEATS for c in reruns.values())
    own = [c for c in perf.CHECKS["stage4_tagging"] if c.name == "memory per task"]
    assert own[0].args == () and perf.checks_for("stage4_tagging", LATEST) == perf.CHECKS["stage4_tagging"]


@pytest.mark.parametrize("check", every_check(), ids=lambda c: c.name)
def test_every_bound_is_said_in_its_checks_message(check):
    fields = {f.split("[")[0] for _, f, _, _ in string.Formatter().parse(check.describe) if f}
    fields.discard("need")
    message = check.message(dict.fromkeys(fields, 1.0))
    for bound in check.bounds:
        assert set(bound.figures.split()) <= fields
        assert bound.need() in message


def test_checks_that_need_two_cpus_are_not_graded_on_one(monkeypatch, tmp_path):
    monkeypatch.setattr(perf, "cpus", lambda: 1)
    results = perf.BenchResults("runtime", {"benchmarks": [
        {"name": perf.YIELD, "rt_ns": 40.0, "local_ns": 35.0, "ratio": 1.14}]})
    ran = []
    monkeypatch.setattr(perf, "run_program", lambda *a: ran.append(a) or (results, ""))
    (tmp_path / "runtime").touch()
    items = perf.run_checks(perf.CHECKS["stage3_stealing"], tmp_path)
    assert [(i.name, i.status) for i in items] == [("fib scaling", SKIP), ("yield vs stage 1", PASS)]
    assert items[0].output == "needs 2 CPUs, the grader may use 1 here"
    assert len(ran) == 1                       # fib's program did not run
    comp = Component("perf", 25, items)
    assert comp.score == 25 and comp.max_score == 25 and comp.ok
    monkeypatch.setattr(perf, "cpus", lambda: 2)
    assert [i.status for i in perf.run_checks(perf.CHECKS["stage3_stealing"], tmp_path)] == [FAIL, PASS]


def test_a_stage_whose_every_check_needs_two_cpus_has_no_perf_part_on_one(monkeypatch):
    monkeypatch.setattr(perf, "cpus", lambda: 1)
    monkeypatch.setitem(perf.CHECKS, "stage1_context",
                        [replace(c, min_cpus=2) for c in perf.CHECKS["stage1_context"]])
    reason = grade.skip_reason("perf", "release", "stage1_context", "stage1_context")
    assert reason == "needs 2 CPUs, the grader may use 1 here"
    assert grade.skip_reason("perf", "release", "stage3_stealing", "stage3_stealing") == ""


def test_cpus_counts_the_affinity_mask(monkeypatch):
    monkeypatch.setattr(perf.os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert perf.cpus() == 1


def test_make_test_leaves_perf_out_unless_asked():
    """`make test` (CI) grades no perf check unless PERF=1; tests and Valgrind are unaffected."""
    from grader.grade import PERF_LEFT_OUT, skip_reason
    assert skip_reason("perf", "release", "stage1_context", "phase3_preempt", perf_on=False) == PERF_LEFT_OUT
    assert skip_reason("perf", "release", "stage1_context", "phase3_preempt", perf_on=True) == ""
    for kind in ("tests", "valgrind"):
        assert skip_reason(kind, "release", "stage1_context", "phase3_preempt", perf_on=False) == ""


def test_echo_vs_epoll_is_the_median_of_paired_ratios():
    # Pairs (green, epoll) of round trips per second: the machine slowed down
    # during one pair, which moved both servers' figures alike.
    pairs = [(80e3, 100e3), (40e3, 52e3), (78e3, 96e3), (85e3, 99e3), (60e3, 95e3)]
    results = perf.BenchResults("echo", {"benchmarks": [
        {"name": perf.ECHO + "/iterations:1/real_time", "green_rt_s": g, "epoll_rt_s": e, "ratio": g / e,
         "green_server_cores": 0.9, "epoll_server_cores": 0.8} for g, e in pairs]})
    f = perf._echo_figures(results)
    assert f["ratio"] == 0.8 and f["green"] == 78e3 and f["epoll"] == 96e3
    check = perf.CHECKS["phase5_io"][0]
    assert check.passes(f) and "1 worker 78,000/s, a hand-written epoll server 96,000/s" in check.message(f)
    assert not check.passes({**f, "ratio": 0.5})


def program_runs():
    """(check name, program, args) of every check and baseline, for the filter test."""
    for c in every_check():
        yield c.name, c.program, c.args
        if c.baseline:
            yield f"{c.name} (baseline)", c.baseline[1], c.baseline[2]


@pytest.mark.parametrize("name,program,args", list(program_runs()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_checks_filter_selects_benchmarks(name, program, args):
    """A filter that matches nothing fails the check at grading time only
    ("wrote no JSON results"); ask the built program instead. Uses the latest
    present stage's release build, which has every earlier stage's programs."""
    from grader import proc, stages
    present = stages.present_stages()
    binary = stages.build_dir(present[-1], "release", "asm") / "bench" / program if present else None
    if not binary or not binary.exists():
        pytest.skip(f"bench/{program} is not built in release (make -C {present[-1] if present else '<stage>'})")
    filters = [a for a in args if a.startswith("--benchmark_filter=")]
    run = proc.run([str(binary), "--benchmark_list_tests", *filters], timeout=60)
    assert run.ok, f"{binary} --benchmark_list_tests failed: {run.describe()}"
    listed = [line for line in run.output.splitlines() if line and " " not in line]  # names only
    assert listed and "Failed to match" not in run.output, \
        f"check {name!r}: {' '.join(filters) or 'no filter'} selects no benchmark of bench/{program}"
