"""The Valgrind smoke test: a stage's own tests, shrunk, under memcheck (an
earlier stage's tests ran under it in that stage).

Clean means: no memcheck error, no definite leak, and no "client switching
stacks" warning (the runtime must register its task stacks with
VALGRIND_STACK_REGISTER, DESIGN.md 3.1). Death tests and tests named
*NoValgrind* are left out.
"""

import re
import shutil
from pathlib import Path

from . import proc
from .results import FAIL, PASS, Item

NAME = "memcheck"
TIMEOUT = 900           # seconds
TEST_SCALE = "0.02"     # GREEN_TEST_SCALE: stress loops shrunk 50x
SUPPRESSIONS = Path(__file__).with_name("valgrind.supp")  # glibc's, each with its reason
ARGS = ("--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite",
        f"--suppressions={SUPPRESSIONS}")
GTEST_FILTER = "--gtest_filter=-*DeathTest*:*NoValgrind*"
SHOWN_LINES = 60        # Valgrind lines shown on a failure


def run(binary, mode="release", only=None):
    """Run the tests in `binary` (or only those named in `only`) under
    Valgrind; returns one Item."""
    if not shutil.which("valgrind"):
        return Item(NAME, FAIL, "valgrind is not installed (make deps)")
    if not binary.exists():
        return Item(NAME, FAIL, f"{binary} was not built (no tests?)")
    result = proc.run(["valgrind", *ARGS, binary, gtest_filter(only)],
                      proc.timeout(TIMEOUT, mode), env={"GREEN_TEST_SCALE": TEST_SCALE})
    if result.timed_out or result.error:
        return Item(NAME, FAIL, f"valgrind {result.describe()}\n{result.tail()}")
    problems = _problems(result)
    if not problems:
        return Item(NAME, PASS, "clean")
    return Item(NAME, FAIL, "\n".join(problems) + "\n\n" + _relevant_lines(result.output))


def gtest_filter(only=None):
    """--gtest_filter for the run: `only`'s names (all if None), less death
    tests and *NoValgrind* tests."""
    return GTEST_FILTER if not only else GTEST_FILTER.replace("=-", "=" + ":".join(only) + "-", 1)


def _problems(result):
    """What makes this run unclean, one line each."""
    out = result.output
    problems = []
    if result.returncode == 99:
        problems.append("memcheck found errors (exit code 99)")
    elif not result.ok:
        problems.append(f"the tests failed under Valgrind: green_tests {result.describe()}")
    summary = re.search(r"ERROR SUMMARY: ([\d,]+) errors", out)
    if not summary:
        problems.append("no ERROR SUMMARY in Valgrind's output")
    elif summary.group(1) != "0":
        problems.append(f"ERROR SUMMARY: {summary.group(1)} errors")
    lost = re.search(r"definitely lost: ([\d,]+) bytes", out)
    if lost and lost.group(1) != "0":
        problems.append(f"definitely lost: {lost.group(1)} bytes")
    if "client switching stacks" in out:
        problems.append("Valgrind saw a stack switch it did not know about "
                        "(\"client switching stacks?\"): register task stacks "
                        "with VALGRIND_STACK_REGISTER")
    return problems


def _relevant_lines(output):
    """Valgrind's reports (its ==pid== lines after the banner) and failed tests."""
    lines = output.splitlines()
    banner_end = next((i for i, l in enumerate(lines) if "Command:" in l), 0) + 1
    shown = [l for l in lines[banner_end:]
             if re.match(r"==\d+==\s+\S", l) or l.startswith("[  FAILED  ]")]
    more = f"\n[... {len(shown) - SHOWN_LINES} more lines]" if len(shown) > SHOWN_LINES else ""
    return "\n".join(shown[:SHOWN_LINES]) + more
