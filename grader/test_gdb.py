"""The gdb extension (issue 16; stage4_tagging/gdb/green.py), as a user runs it:
the latest present stage installed into a temporary prefix, a program built
against it with pkg-config and -g, then `gdb -batch` with the installed
extension sourced. Live: stopped at a breakpoint while tasks wait, `info
green-tasks` lists them with what they wait for, and `green-task <id>` makes
`bt` walk that task's stack down to the program's own function. Then the same
from a core dump that gdb wrote at that point. Skipped before stage 4 (the
task-block registry the extension walks)."""

import re
import shutil

import pytest

from grader import outside, stages

STEP = 180  # seconds: a build, or a gdb session

PROGRAM = r"""
#include <green/green.hpp>

#include <atomic>
#include <cstdio>
#include <string>

std::atomic<bool> go{false};

extern "C" [[gnu::noinline]] void green_test_ready() { asm volatile(""); }

[[gnu::noinline]] void spins_until_told() {
  while (!go.load()) green::this_task::yield();
}
[[gnu::noinline]] void joins_the_spinner(green::TaskHandle& h) {
  h.join();
  asm volatile("");
}
[[gnu::noinline]] void joins_the_joiner(green::TaskHandle& h) {
  h.join();
  asm volatile("");
}

int main() {
  green::Runtime rt;
  rt.run([] {
    green::TaskHandle spinner = green::spawn([] { spins_until_told(); }, {.name = "spinner"});
    green::TaskHandle joiner = green::spawn([&] { joins_the_spinner(spinner); }, {.name = "joiner"});
    // Above the default: priorities are strict, and main and the spinner keep
    // both workers busy at 8 until outer has parked (at 5 it could starve).
    green::TaskHandle outer = green::spawn([&] { joins_the_joiner(joiner); }, {.name = "outer", .priority = 9});
    // Stop for the debugger once both joiners are parked (as the dump says).
    for (;;) {
      std::FILE* f = std::tmpfile();
      green::dump_tasks(f);
      std::rewind(f);
      std::string text;
      char buf[4096];
      while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) text.append(buf, n);
      std::fclose(f);
      std::size_t first = text.find("[waiting: join");
      if (first != std::string::npos && text.find("[waiting: join", first + 1) != std::string::npos) break;
      green::this_task::yield();
    }
    green_test_ready();
    go.store(true);
    outer.join();
  });
}
"""


def env():
    return outside.env()


def run(cmd, what, **kw):
    return outside.run(cmd, what, STEP, both=True, **kw)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(program, extension): the program built against an installed tree."""
    present = stages.present_stages()
    if "stage4_tagging" not in present:
        pytest.skip("the gdb extension comes with stage 4's task-block registry")
    if not shutil.which("gdb"):
        pytest.fail("gdb is missing: `make deps` installs it")
    out = tmp_path_factory.mktemp("gdb")
    prefix = out / "prefix"
    run(["make", "--no-print-directory", "-C", stages.ROOT, "install", f"PREFIX={prefix}", "MODE=release",
         "CONTEXT=asm"], "make install")
    ext = prefix / "share" / "green" / "gdb" / "green.py"
    assert ext.is_file(), "make install did not install the gdb extension (share/green/gdb/green.py)"
    (out / "prog.cpp").write_text(PROGRAM)
    e = {**env(), "PKG_CONFIG_PATH": str(prefix / "lib" / "pkgconfig")}
    flags = run(["pkg-config", "--cflags", "--libs", "green"], "pkg-config green", env=e).split()
    run(["g++", "-g", "-O1", str(out / "prog.cpp"), *flags, "-o", str(out / "prog")], "building the program")
    return out / "prog", ext


def gdb(*args):
    return run(["gdb", "-q", "-batch", "-nx", "-ex", "set pagination off", *args], "gdb")


def task_ids(listing):
    """name -> (id, line) from `info green-tasks`."""
    found = {}
    for line in listing.splitlines():
        m = re.match(r'task (\d+) "([^"]*)" \[', line)
        if m:
            found[m.group(2)] = (m.group(1), line)
    return found


def check_session(out, where):
    tasks = task_ids(out)
    for name in ("spinner", "joiner", "outer", "main"):
        assert name in tasks, f"{where}: info green-tasks did not list task {name!r}:\n{out}"
    spinner, joiner = tasks["spinner"][0], tasks["joiner"][0]
    assert f"[waiting: join {spinner}]" in tasks["joiner"][1], f"{where}: the joiner should wait to join {spinner}:\n{out}"
    assert f"[waiting: join {joiner}] priority 9" in tasks["outer"][1], f"{where}: {tasks['outer'][1]}"
    assert re.search(r"green: \d+ tasks", out), f"{where}: no count line:\n{out}"
    bt = out[out.index("--- bt of outer"):]
    assert "joins_the_joiner" in bt, f"{where}: bt after green-task did not reach the task's own function:\n{bt}"
    frame0 = next(line for line in bt.splitlines() if line.startswith("#0"))
    assert "green_test_ready" in frame0, f"{where}: frame #0 should stay the thread's:\n{bt}"
    back = out[out.index("--- bt back"):]
    assert "joins_the_joiner" not in back, f"{where}: `green-task` alone should go back to the thread's stack:\n{back}"


SESSION = """\
import re
import gdb
out = gdb.execute('info green-tasks', to_string=True)
print(out, end='')
tid = re.search(r'task (\\d+) "outer"', out).group(1)
print('--- bt of outer')
gdb.execute('green-task ' + tid)
gdb.execute('bt')
gdb.execute('green-task')
print('--- bt back')
gdb.execute('bt 3')
"""


def session(ext, tmp_path):
    """After the stop: list the tasks, pick outer by its id, bt, go back, bt."""
    script = tmp_path / "session.py"
    script.write_text(SESSION)
    return ["-ex", f"source {ext}", "-ex", f"source {script}"]


def test_live_process_and_core_dump(built, tmp_path):
    prog, ext = built
    core = tmp_path / "prog.core"
    live = gdb("-ex", "break green_test_ready", "-ex", "run", *session(ext, tmp_path),
               "-ex", f"generate-core-file {core}", "-ex", "kill", str(prog))
    check_session(live, "live process")
    assert core.is_file(), f"gdb wrote no core file:\n{live}"
    dead = gdb(*session(ext, tmp_path), str(prog), str(core))
    check_session(dead, "core dump")


def test_a_task_that_is_not_there_is_a_clear_error(built):
    prog, ext = built
    out = gdb("-ex", "break green_test_ready", "-ex", "run", "-ex", f"source {ext}",
              "-ex", "green-task 999999", "-ex", "kill", str(prog))
    assert "green: no task 999999" in out, out
