"""points.POINTS is the one points table: HANDOUT.md's copies for students
(section 1.5's table, each "How ... is graded" section) must say the same."""

import re

import pytest

from grader import stages
from grader.points import POINTS

HANDOUT = stages.ROOT / "HANDOUT.md"
pytestmark = pytest.mark.skipif(not HANDOUT.exists(), reason="no HANDOUT.md")


def handout():
    return HANDOUT.read_text()


def test_the_handouts_points_table_is_points_py():
    rows = re.findall(r"^\| (\w+) \| (\d+) \| (\d+) \| (\d+) \|$", handout(), re.M)
    table = {stage: tuple(map(int, n)) for stage, *n in rows if stage in POINTS}
    assert table == {s: (p.tests, p.perf, p.valgrind) for s, p in POINTS.items()}


def test_each_how_it_is_graded_section_states_points_py():
    sections = re.findall(r"^### [\d.]+ How (stage|phase) (\d+) is graded\n(.*?)(?=^### )",
                          handout(), re.M | re.S)
    assert sections
    for kind, number, text in sections:
        stage = next(s for s in POINTS if s.startswith(f"{kind}{number}_"))
        stated = {part.lower(): int(n) for part, n in
                  re.findall(r"\*\*(Tests|Perf|Valgrind): (\d+) points\*\*", text)}
        assert stated == vars(POINTS[stage]), stage

