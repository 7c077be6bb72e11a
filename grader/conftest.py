"""pytest plumbing for `make test`: one Grader for the whole session (so each
stage is built once), and the scoreboard printed at the end."""

import pytest

from grader import report, stages
from grader.grade import Grader

GRADER = Grader(stages.env_setting("MODE", "release", stages.MODES),
                stages.env_setting("CONTEXT", "asm", stages.CONTEXTS))


@pytest.fixture(scope="session")
def grader():
    return GRADER


def pytest_terminal_summary(terminalreporter):
    if GRADER.results:
        terminalreporter.write_sep("=", f"green scoreboard (MODE={GRADER.mode} "
                                        f"CONTEXT={GRADER.context})")
        terminalreporter.write_line(report.scoreboard(list(GRADER.results.values())))
