"""Formatting results: per-check reports, the scoreboard, Gradescope JSON."""

import textwrap

from .results import FAIL, KINDS, PASS, SKIP

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


def gradescope(results, output):
    """Gradescope's results.json: one entry per graded item; `output` is the report."""
    tests = []
    for r in results:
        for comp in r.components.values():
            if comp.skipped:
                continue
            if not comp.graded:        # no build, no test binary: the whole component
                detail = comp.note if r.built else build_report(r)
                tests.append(_entry(f"{r.stage} {comp.kind}", False, 0, comp.points, detail))
                continue
            share = comp.points / len(comp.graded)
            for item in comp.graded:
                passed = item.status == PASS
                detail = "\n".join(filter(None, [item.output, "" if passed else comp.note]))
                tests.append(_entry(f"{r.stage} {comp.kind}: {item.name}", passed,
                                    share if passed else 0, share, detail))
    return {"score": round(sum(r.score for r in results), 2),
            "max_score": round(sum(r.max_score for r in results), 2),
            "tests": tests, "output": output}


def _entry(name, passed, score, max_score, output):
    return {"name": name, "score": round(score, 2), "max_score": round(max_score, 2),
            "status": "passed" if passed else "failed", "output": output}


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
