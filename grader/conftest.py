"""pytest plumbing for `make test`: one Grader per build mode for the whole
session (so each stage is built once per mode), and the scoreboards printed at
the end.

`make test` is what CI runs: every present stage's tests and Valgrind smoke
test in MODE (release by default), and, in release, the latest stage's tests
under ASan+UBSan and TSan too (its binary runs every earlier stage's tests, so
the slow modes need not repeat each stage). Perf checks only with GREEN_PERF=1
(`make test PERF=1`); `make grade` always runs them."""

import os

import pytest

from grader import report, stages
from grader.grade import Grader

GRADER = Grader(stages.env_setting("MODE", "release", stages.MODES),
                stages.env_setting("CONTEXT", "asm", stages.CONTEXTS),
                perf_on=os.environ.get("GREEN_PERF", "") == "1")
_sanitizer_graders = {}


@pytest.fixture(scope="session")
def grader():
    return GRADER


@pytest.fixture(scope="session")
def sanitizer_grader():
    """mode -> the session's Grader for that sanitizer mode, made on first use."""
    def get(mode):
        if mode not in _sanitizer_graders:
            _sanitizer_graders[mode] = Grader(mode, GRADER.context, perf_on=False)
        return _sanitizer_graders[mode]
    return get


def pytest_terminal_summary(terminalreporter):
    for g in (GRADER, *_sanitizer_graders.values()):
        if g.results:
            terminalreporter.write_sep("=", f"green scoreboard (MODE={g.mode} CONTEXT={g.context})")
            terminalreporter.write_line(report.scoreboard(list(g.results.values())))
