"""Instructor-held tests: the test sources mk/manifest gives to the autograder
alone (audience `grader`, e.g. `grader stage2_queues/tests/secret_*.cpp`).
Students never see these files, so Gradescope must not show what they test
(names, messages, output) before the due date: report.gradescope gives their
results a later visibility.

A GoogleTest case is held if the file its TEST() is in is held (Item.source,
from GoogleTest's JSON). A case whose file is unknown (a test that crashed or
hung when rerun alone, one the time budget left out, the whole-run item) is
held if any held file is in its stage's binary: its output may be a held
test's, and a later visibility only delays what an unheld one shows.
"""

import importlib.util

from . import stages


def _starter(root):
    """mk/starter.py, whose read_manifest and audience are the one reading of
    the manifest (starter trees leave out exactly what it holds back)."""
    spec = importlib.util.spec_from_file_location("starter", root / "mk" / "starter.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def held_files(root=stages.ROOT):
    """The held test sources, as paths from the root: a frozenset. Empty
    without mk/manifest: a starter tree holds no held file either (the
    manifest is itself held). A broken manifest raises: better no results than
    held tests shown."""
    manifest = root / "mk" / "manifest"
    if not manifest.exists():
        return frozenset()
    starter = _starter(root)
    entries = starter.read_manifest(manifest)
    sources = (p.relative_to(root).as_posix()
               for s in stages.STAGES for p in (root / s / "tests").rglob("*") if p.is_file())
    return frozenset(f for f in sources if starter.audience(f, entries) == "grader")


def in_binary(stage, held):
    """The held files among the tests `stage`'s binary is built from (its own
    and every earlier stage's)."""
    upto = stages.upto(stage)
    return {f for f in held if f.split("/")[0] in upto}


def is_held(item, stage, held):
    """Whether a GoogleTest case (an Item) of `stage`'s binary is held."""
    if item.source:
        return item.source in held
    return bool(in_binary(stage, held))
