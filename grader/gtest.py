"""Running a stage's GoogleTest binary and reporting each test by name.

The whole binary runs once, writing JSON results. If it crashes (a signal, a
sanitizer error, no JSON, an exit code other than 0 or 1) or hangs, each test
is rerun alone with its own timeout, so that the culprit is named with the
last lines of its output, and the tests score from those reruns: a crashing
test costs that test only. All of this runs within the stage's time budget
(STAGE_BUDGET, scaled like every timeout); tests it leaves no time for fail
without running, so a submission whose every test hangs is graded in bounded
time.
"""

import json
import re
import tempfile
from time import monotonic
from pathlib import Path
from typing import NamedTuple

from . import proc, stages
from .results import FAIL, PASS, SKIP, Item

WHOLE_TIMEOUT = 900     # seconds for the whole binary, in release mode
SINGLE_TIMEOUT = 120    # seconds for one test run alone
STAGE_BUDGET = 1800     # seconds for the whole binary, the listing and the reruns
LIST_TIMEOUT = 60
OUTPUT_LINES = 40       # lines of output shown for a crash or a hang
# The first line of a sanitizer's report: its start matters more than its end.
SANITIZER_REPORT = re.compile(r"==\d+==ERROR: \w+Sanitizer|WARNING: ThreadSanitizer|runtime error:")


class GTestRun(NamedTuple):
    items: list         # one Item per test
    note: str           # what went wrong with the binary as a whole, or ""


def run(binary, mode):
    """Run every test of `binary` (a Path); returns a GTestRun."""
    if not binary.exists():
        return GTestRun([Item(binary.name, FAIL, f"{binary} was not built (no tests?)")],
                        "there is no test binary")
    budget = proc.timeout(STAGE_BUDGET, mode)
    deadline = monotonic() + budget
    with tempfile.TemporaryDirectory() as tmp:
        whole, items, how = _run_json(binary, Path(tmp) / "all.json", [],
                                      proc.timeout(WHOLE_TIMEOUT, mode))
        if items is not None:
            return GTestRun(items, "")
        names, listing = list_tests(binary)
        if names is None:
            return GTestRun([Item(binary.name, FAIL, f"{binary.name} {how}; listing its tests "
                                  f"{listing.describe()}; {_crash_output(listing)}")],
                            f"the test binary {how}")
        items, not_run = [], f"not run: the stage's time budget ({budget:g} s) ran out"
        for i, name in enumerate(names):
            left = deadline - monotonic()
            items.append(Item(name, FAIL, not_run) if left <= 0 else
                         _run_alone(binary, name, Path(tmp) / f"{i}.json",
                                    min(proc.timeout(SINGLE_TIMEOUT, mode), left)))
    if not any(i.status == FAIL for i in items):  # then show the whole run
        items.append(Item(f"{binary.name} (all tests in one run)", FAIL,
                          f"the whole run {how}, but every test passes alone: they interfere "
                          f"with each other; {_crash_output(whole)}"))
    note = f"the test binary {how}, so each test was rerun alone and scores from that run"
    unrun = sum(i.output == not_run for i in items)
    if unrun:
        note += f"; {unrun} {'test was' if unrun == 1 else 'tests were'} {not_run}"
    return GTestRun(items, note)


def list_tests(binary):
    """(["Suite.Test", ...], run), or (None, run) if the listing failed."""
    listing = proc.run([binary, "--gtest_list_tests"], proc.timeout(LIST_TIMEOUT))
    if not listing.ok:
        return None, listing
    names, suite = [], ""
    for line in listing.output.splitlines():
        entry = line.split("#")[0].strip()   # drop "# GetParam() = ..." comments
        if not entry:
            continue
        if not line.startswith(" "):
            suite = entry                    # "Suite." at column 0
        elif suite:
            names.append(suite + entry)      # "  Test" below it
    return names, listing


def _run_alone(binary, name, json_path, timeout):
    """Run one test; returns its Item."""
    alone, items, how = _run_json(binary, json_path, [f"--gtest_filter={name}"], timeout)
    if items:
        return items[0]
    if items is not None:  # a normal run that did not run the test
        return Item(name, FAIL, f"{name} did not run when selected alone")
    return Item(name, FAIL, f"{name} {how}; {_crash_output(alone)}")


def _crash_output(result):
    """The lines worth showing for a crash or a hang: the start of a sanitizer
    report if there is one, else the last lines."""
    lines = result.output.rstrip().splitlines()
    start = next((i for i, l in enumerate(lines) if SANITIZER_REPORT.search(l)), None)
    if start is None:
        return f"last {OUTPUT_LINES} lines of its output:\n" + "\n".join(lines[-OUTPUT_LINES:])
    return "its sanitizer report:\n" + "\n".join(lines[start:start + OUTPUT_LINES])


def _run_json(binary, json_path, args, timeout):
    """Run the binary; returns (run, items, ""), or (run, None, what went wrong)."""
    result = proc.run([binary, f"--gtest_output=json:{json_path}", *args], timeout)
    if result.returncode not in (0, 1):  # 1: some test failed
        return result, None, result.describe()
    items = parse_json(json_path)
    return result, items, "" if items is not None else \
        f"{result.describe()} without writing its JSON results"


def parse_json(path):
    """GoogleTest's JSON results as a list of Items, or None if unreadable."""
    try:
        data = json.loads(Path(path).read_text())
        items = []
        for suite in data["testsuites"]:
            for case in suite["testsuite"]:
                if case.get("status") == "NOTRUN":   # DISABLED_ tests
                    continue
                name = f"{suite['name']}.{case['name']}"
                # GoogleTest's JSON names the file of the TEST() (1.12, Debian's,
                # does); whether the test is instructor-held (held.py) goes by it.
                source = stages.source_path(case.get("file", ""))
                failures = [f["failure"] for f in case.get("failures", [])]
                if failures:
                    items.append(Item(name, FAIL, "\n".join(failures), source))
                elif case.get("result") == "SKIPPED":
                    items.append(Item(name, SKIP, source=source))
                else:
                    items.append(Item(name, PASS, source=source))
        return items
    except (OSError, ValueError, KeyError, TypeError):
        return None
