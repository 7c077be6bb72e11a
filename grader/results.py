"""What grading produces, and how it scores: a stage has a build and up to
three components (tests, perf, valgrind), each a list of items."""

from dataclasses import dataclass, field

PASS, FAIL, SKIP = "pass", "fail", "skip"
KINDS = ("tests", "perf", "valgrind")  # the components of a stage, in grading order


@dataclass
class Item:
    """One reported check: a GoogleTest case, a perf check, the Valgrind run."""
    name: str
    status: str      # PASS, FAIL or SKIP (a GTEST_SKIP'd case: not graded)
    output: str = ""  # failure message or crash output; a perf check's figures
    source: str = ""  # a GoogleTest case's file, from the root ("stage2_queues/tests/x.cpp"), if known
    # A perf check's bounded figures, name -> (value, "asc" if lower is better
    # else "desc"): Gradescope's leaderboard (report.gradescope).
    figures: dict = field(default_factory=dict)


@dataclass
class Component:
    """One graded part of a stage, worth `points` (points.py)."""
    kind: str                 # one of KINDS
    points: int
    items: list = field(default_factory=list)
    note: str = ""            # why it is skipped, has no items, or was rerun; said with the results
    skipped: bool = False     # not graded in this run: no score, no maximum
    # tests: the stage graded. Its binary holds every earlier stage's tests
    # too; those are not this stage's to earn (they scored in their own
    # stage), only to keep: see score.
    stage: str = ""

    @property
    def graded(self):
        return [i for i in self.items if i.status != SKIP]

    @property
    def passed(self):
        return sum(i.status == PASS for i in self.items)

    @property
    def failed(self):
        return [i for i in self.items if i.status == FAIL]

    @property
    def ok(self):
        return self.skipped or (bool(self.graded) and not self.failed)

    @property
    def max_score(self):
        return 0 if self.skipped else self.points

    def owns(self, item):
        """Is item one of this stage's own tests? (A test of unknown source,
        one that crashed or hung when rerun, counts as the stage's own.)"""
        return not self.stage or not item.source or item.source.startswith(self.stage + "/")

    @property
    def score(self):
        """Points in proportion to the items passed. For a stage's tests: to
        its own tests passed, less one for each earlier stage's test that fails
        in its binary (a regression), never below 0. So a starter tree, whose
        stage is all stubs, scores 0 there, however many earlier tests pass."""
        if self.skipped or not self.graded:   # e.g. no build
            return 0.0
        own = [i for i in self.graded if self.owns(i)]
        if self.kind != "tests" or not own:
            return self.points * self.passed / len(self.graded)
        regressions = sum(i.status == FAIL for i in self.graded if not self.owns(i))
        return self.points * max(0, sum(i.status == PASS for i in own) - regressions) / len(own)

    def split(self, parts):
        """(score, max_score) for each of `parts` (lists of graded items that
        together are all of them), adding up exactly to score and max_score:
        what Gradescope shows as separate tests. Each item is worth the same
        (for tests, each of the stage's own; earlier stages' are worth
        nothing, and the regressions among them come off in proportion)."""
        own = [i for i in self.graded if self.owns(i)] if self.kind == "tests" else []
        counted = own or self.graded
        unit = self.points / len(counted)
        maxes = [unit * sum(i in counted for i in part) for part in parts]
        raw = [unit * sum(i in counted and i.status == PASS for i in part) for part in parts]
        total = self.score
        return [(total * r / sum(raw) if sum(raw) else 0.0, m) for r, m in zip(raw, maxes)]


@dataclass
class StageResult:
    stage: str
    build: object = None                             # proc.Run of the build
    components: dict = field(default_factory=dict)  # kind -> Component, in grading order

    @property
    def built(self):
        return self.build is not None and self.build.ok

    @property
    def ok(self):
        return self.built and all(c.ok for c in self.components.values())

    @property
    def score(self):
        return sum(c.score for c in self.components.values())

    @property
    def max_score(self):
        return sum(c.max_score for c in self.components.values())
