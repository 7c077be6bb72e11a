"""Formatting results: per-check reports, the scoreboard, Gradescope JSON."""

import math
import textwrap

from . import held as held_tests
from .results import FAIL, KINDS, PASS, SKIP, Component

BUILD_LINES = 40  # lines of compiler output shown when a stage does not build
STATUS = {PASS: "PASS", FAIL: "FAIL", SKIP: "SKIP"}


def build_report(result):
    if result.built:
        return "build: ok"
    return f"build: FAILED: make {result.build.describe()}; last {BUILD_LINES} lines:\n" \
           + _indent(result.build.tail(BUILD_LINES))


def headline(comp):
    """One line: how a component did, e.g. "tests: 12/14 passed; failed: A.b, C.d"."""
    if comp.skipped:
        return f"{comp.kind}: skipped ({comp.note})"
    line = f"{comp.kind}: {comp.passed}/{len(comp.graded)} passed"
    if comp.failed:
        line += "; failed: " + ", ".join(i.name for i in comp.failed)
    return line + (f" ({comp.note})" if comp.note else "")


def component_report(comp, failures_only=False):
    """The headline, then each item with its output (failures only, if asked)."""
    lines = [headline(comp)]
    for item in comp.items:
        if failures_only and item.status != FAIL:
            continue
        line = f"  {STATUS[item.status]} {item.name}"
        if "\n" in item.output:
            lines += [line, _indent(item.output, 6)]
        else:
            lines.append(line + (f": {item.output}" if item.output else ""))
    return "\n".join(lines)


def scoreboard(results):
    """The table: stage | tests | perf (with figures) | valgrind | points."""
    rows = [("stage", "tests", "perf", "valgrind", "points")]
    for r in results:
        rows.append((r.stage, *(_cell(r, r.components.get(k)) for k in KINDS),
                     f"{r.score:.1f}/{r.max_score:g}"))
    score, most = sum(r.score for r in results), sum(r.max_score for r in results)
    rows.append(("total", "", "", "", f"{score:.1f}/{most:g}"))
    return _table(rows)


def _cell(result, comp):
    if comp is None:
        return "-"                 # not selected
    if comp.skipped:
        return "skipped"
    if not result.built:
        return "no build"
    if comp.kind == "tests":
        return f"{comp.passed}/{len(comp.graded)}" + (" (rerun alone)" if comp.note else "")
    if comp.kind == "perf":
        return "\n".join(f"{STATUS[i.status]} {i.name}: {(i.output.splitlines() or [''])[0]}"
                         for i in comp.items)
    return "PASS" if comp.ok else "FAIL"


# Gradescope's test visibilities (its autograder specification) for held tests
# (held.py): shown after the due date, or once grades are published. Never
# "hidden": a hidden test is never shown to students, and while one is, neither
# is their total score.
SECRET_VISIBILITIES = ("after_due_date", "after_published")
VISIBLE = "visible"
HELD_OUTPUT = ("The grading transcript names instructor-held tests, so it is not shown here: "
               "it is the autograder's output, shown with them ({when}). Each part of each "
               "stage is a test below.")


def gradescope(results, output, secret_visibility="after_due_date", held=None):
    """Gradescope's results.json: a test per stage part (its tests, its held
    tests, each perf check, Valgrind) scored from the points table, and each
    perf check's bounded figures as a leaderboard. `output` is the transcript;
    held tests, and any text that names them, are shown to students only
    `secret_visibility`. held: the held test files (default: from mk/manifest)."""
    if secret_visibility not in SECRET_VISIBILITIES:
        raise ValueError(f"secret_visibility must be one of {', '.join(SECRET_VISIBILITIES)}")
    held = held_tests.held_files() if held is None else held
    secrets = _secrets(results, held)

    def visibility(text, is_held=False):
        return secret_visibility if is_held or any(w in text for w in secrets) else VISIBLE

    tests, leaderboard = [], []
    for r in results:
        for comp in r.components.values():
            if comp.skipped:
                continue
            parts = _parts(r, comp, held)
            # Scored as the scoreboard scores (Component.split), unrounded so
            # that the parts add up to the component's points.
            scores = comp.split([items for _, items, _ in parts]) if comp.graded else [(0.0, comp.points)]
            for (name, items, is_held), (score, most) in zip(parts, scores):
                text = _part_output(r, comp, items)
                passed = sum(i.status == PASS for i in items)
                tests.append({
                    "name": name,
                    "score": score,
                    "max_score": most,
                    "status": "passed" if items and passed == len(items) else "failed",
                    "output": text,
                    "visibility": visibility(text, is_held),
                    "tags": [r.stage, comp.kind] + (["held"] if is_held else [])})
            if comp.kind == "perf":
                leaderboard += _leaderboard(r.stage, comp)
    shown = visibility(output)
    # No top-level score: Gradescope adds up the tests' scores.
    return {"output": output if shown == VISIBLE else HELD_OUTPUT.format(when=shown),
            "visibility": VISIBLE, "stdout_visibility": shown,
            "tests": tests, "leaderboard": leaderboard}


def _parts(result, comp, held):
    """(name, items, held) for each Gradescope test of a graded component."""
    stage, kind = result.stage, comp.kind
    if not comp.graded:      # no build, or every item skipped: the whole component fails
        return [(f"{stage}: {kind}", [], False)]
    if kind == "tests":      # held tests apart, so that they are shown later
        mine = [i for i in comp.graded if not held_tests.is_held(i, stage, held)]
        theirs = [i for i in comp.graded if held_tests.is_held(i, stage, held)]
        return [(f"{stage}: {name}", items, is_held)
                for name, items, is_held in (("tests", mine, False), ("held tests", theirs, True))
                if items]
    if kind == "perf":       # each check is worth the same part of the points
        return [(f"{stage}: perf: {i.name}", [i], False) for i in comp.graded]
    return [(f"{stage}: {kind}", comp.graded, False)]


def _part_output(result, comp, items):
    if not items:
        if comp.kind == "tests" and not result.built:
            return build_report(result)
        return comp.note or "nothing graded: every item was skipped"
    if comp.kind == "tests":
        return component_report(Component(comp.kind, comp.points, items, comp.note))
    return "\n".join(i.output for i in items)


def _secrets(results, held):
    """Strings that give a held test away in a text: its file's name (compiler
    and Valgrind output) and its name (GoogleTest output)."""
    words = {f.rsplit("/", 1)[-1] for f in held}
    for r in results:
        tests = r.components.get("tests")
        if tests:
            words |= {i.name for i in tests.items if held_tests.is_held(i, r.stage, held)}
    return words


def _leaderboard(stage, comp):
    """Each bounded figure of the stage's perf checks, ranked its Bound's way;
    a non-finite figure (no baseline) is left out: JSON has no infinity."""
    return [{"name": f"{stage}: {i.name}: {figure}", "value": value, "order": order}
            for i in comp.graded for figure, (value, order) in i.figures.items()
            if math.isfinite(value)]


def _indent(text, spaces=4):
    return textwrap.indent(text, " " * spaces)


def _table(rows):
    """Rows of cells (cells may hold several lines) as aligned text."""
    cells = [[c.splitlines() or [""] for c in row] for row in rows]
    widths = [max(len(line) for row in cells for line in row[i]) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(cells):
        for k in range(max(len(c) for c in row)):
            out.append("  ".join((c[k] if k < len(c) else "").ljust(w)
                                 for c, w in zip(row, widths)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
