"""Grading stages: the Grader builds a stage once and runs each of its checks
once, keeping the results for the scoreboard. The CLI (__main__.py) and pytest
(test_grade.py) both drive one Grader, so they grade the same way."""

from . import gtest, perf, stages, valgrind
from .points import POINTS
from .results import Component, StageResult


PERF_LEFT_OUT = ("perf checks run in `make grade` (and `make test PERF=1`): `make test`, what CI "
                 "runs, leaves them out so that a noisy machine cannot fail it")


def skip_reason(kind, mode, stage, latest, perf_on=True):
    """Why a check is not graded in this run, or "" if it is."""
    if kind == "perf" and not perf_on:
        return PERF_LEFT_OUT
    if kind == "perf" and mode != "release":
        return f"perf checks run in release mode only; MODE is {mode}"
    if kind == "perf" and not perf.checks_for(stage, latest):
        return "no perf checks for this stage"
    if kind == "perf":   # every check needs more CPUs than there are
        reasons = {perf.skip_reason(c) for c in perf.checks_for(stage, latest)}
        if "" not in reasons:
            return "; ".join(sorted(reasons))
    if kind == "valgrind" and mode in ("asan", "tsan"):
        return f"Valgrind cannot run a sanitizer build; MODE is {mode}"
    return ""


class Grader:
    def __init__(self, mode, context, perf_on=True):
        self.mode, self.context, self.perf_on = mode, context, perf_on
        self.latest = (stages.present_stages() or [None])[-1]  # also runs earlier perf checks
        self.results = {}  # stage -> StageResult, in the order graded
        self.baseline_builds = {}  # stage -> built ok, for stages built only as perf baselines

    def build(self, stage):
        """The stage's StageResult, built (once)."""
        result = self.results.setdefault(stage, StageResult(stage))
        if result.build is None:
            result.build = stages.build(stage, self.mode, self.context)
        return result

    def component(self, stage, kind):
        """Grade one check of a stage (once); returns its Component."""
        result = self.build(stage)
        if kind not in result.components:
            result.components[kind] = self._grade(result, kind)
        return result.components[kind]

    def _bench_dir(self, stage):
        """An earlier stage's bench directory, built if needed (perf baselines).
        Not added to the scoreboard unless that stage is graded too."""
        if stage in self.results:
            built = self.build(stage).built
        else:
            if stage not in self.baseline_builds:
                self.baseline_builds[stage] = stages.build(stage, self.mode, self.context).ok
            built = self.baseline_builds[stage]
        return stages.build_dir(stage, self.mode, self.context) / "bench" if built else None

    def _grade(self, result, kind):
        points = getattr(POINTS[result.stage], kind)
        reason = skip_reason(kind, self.mode, result.stage, self.latest, self.perf_on)
        if reason:
            return Component(kind, points, skipped=True, note=reason)
        if not result.built:
            return Component(kind, points, note=f"{result.stage} did not build: "
                                                f"the build {result.build.describe()}")
        out = stages.build_dir(result.stage, self.mode, self.context)
        if kind == "tests":
            run = gtest.run(out / "green_tests", self.mode)
            return Component(kind, points, run.items, note=run.note, stage=result.stage)
        if kind == "perf":
            checks = perf.checks_for(result.stage, self.latest)
            return Component(kind, points, perf.run_checks(checks, out / "bench", self._bench_dir))
        return Component(kind, points, [valgrind.run(out / "green_tests", self.mode, self._own_tests(result.stage))])

    def _own_tests(self, stage):
        """The names of the stage's own tests (their sources are under its
        tests/), from its graded run; None (every test) if that run could not
        say. Earlier stages' tests ran under Valgrind in their own stages."""
        tests = self.component(stage, "tests")
        if tests.skipped or not tests.items or any(not i.source for i in tests.items):
            return None
        return [i.name for i in tests.items if tests.owns(i)]
