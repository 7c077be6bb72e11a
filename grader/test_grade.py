"""`make test`: one pytest case per present stage and check, and one per
sanitizer for the latest stage (conftest.py says what CI runs), run by the same
Grader as `python -m grader`. A case fails with the grader's report of what
failed (test names and messages, perf figures, Valgrind's lines); checks that
do not apply in this MODE (perf outside release, Valgrind under sanitizers)
are skipped with the reason."""

import pytest

from grader import report, stages
from grader.results import KINDS

PRESENT = stages.present_stages()
SANITIZERS = ("asan", "tsan")


def test_some_stage_is_present():
    if not PRESENT:
        pytest.fail("no stage has files in src/ or tests/ yet: nothing to grade", pytrace=False)


@pytest.mark.parametrize("stage,kind", [(s, k) for s in PRESENT for k in KINDS],
                         ids=[f"{s}-{k}" for s in PRESENT for k in KINDS])
def test_stage(grader, stage, kind):
    check(grader, stage, kind)


@pytest.mark.parametrize("mode", SANITIZERS)
def test_latest_stage_under(grader, sanitizer_grader, mode):
    """The latest stage's tests (every stage's, in one binary) under a sanitizer."""
    if grader.mode != "release":
        pytest.skip(f"MODE is {grader.mode}: this run is the sanitizer run")
    if not PRESENT:
        pytest.skip("no stage is present")
    check(sanitizer_grader(mode), PRESENT[-1], "tests")


def check(grader, stage, kind):
    comp = grader.component(stage, kind)   # builds the stage first, once
    if comp.skipped:
        pytest.skip(comp.note)
    result = grader.results[stage]
    if not result.built:                   # the build output goes with the tests case
        pytest.fail(f"{stage} {report.build_report(result)}" if kind == "tests" else
                    f"{comp.note} (build output under {stage}-tests)", pytrace=False)
    if not comp.ok:
        pytest.fail(f"{stage} {report.component_report(comp, failures_only=True)}", pytrace=False)
