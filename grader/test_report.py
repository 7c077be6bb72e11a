"""Gradescope's results.json (report.gradescope) from made-up results, and how
held tests are found (held.py, gtest's JSON): no program runs."""

import json
import math

import pytest

from grader import __main__ as cli
from grader import gtest, held, perf, proc, report, stages
from grader.points import POINTS
from grader.results import FAIL, PASS, SKIP, Component, Item, StageResult

# Gradescope's autograder specification: the keys it reads, and the values.
TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format",
            "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests",
            "leaderboard"}
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output",
             "output_format", "tags", "visibility", "extra_data"}
SHOWN = {"visible", "after_due_date", "after_published"}   # "hidden" never
SECRET = "stage2_queues/tests/secret_park_test.cpp"


def check_spec(doc):
    """Fail unless doc is a results.json as the specification has it, scored on
    each test (we give no top-level score), and never "hidden"."""
    json.loads(json.dumps(doc, allow_nan=False))      # plain JSON: no NaN or infinity
    assert set(doc) <= TOP_KEYS and "score" not in doc
    assert doc["visibility"] in SHOWN and doc["stdout_visibility"] in SHOWN
    assert isinstance(doc["output"], str) and doc["tests"]
    for t in doc["tests"]:
        assert set(t) <= TEST_KEYS, t["name"]
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(t)
        assert isinstance(t["name"], str) and isinstance(t["output"], str)
        assert 0 <= t["score"] <= t["max_score"] + 1e-9, t["name"]
        assert t["status"] == ("passed" if t["score"] == t["max_score"] else "failed"), t["name"]
        assert t["visibility"] in SHOWN, t["name"]
        assert all(isinstance(tag, str) for tag in t.get("tags", []))
    for entry in doc["leaderboard"]:
        assert set(entry) == {"name", "value", "order"}
        assert isinstance(entry["value"], float) and math.isfinite(entry["value"])
        assert entry["order"] in ("asc", "desc")


def stage_result(stage, tests, perf_items=(), valgrind=PASS, built=True):
    """A graded stage: GoogleTest items, perf items (none: no perf part), Valgrind."""
    points = POINTS[stage]
    r = StageResult(stage, proc.Run(0 if built else 2, "" if built else "x.cpp:1: error: boom"))
    r.components["tests"] = Component("tests", points.tests, list(tests) if built else [],
                                      note="" if built else f"{stage} did not build")
    r.components["perf"] = Component("perf", points.perf, list(perf_items),
                                     skipped=not perf_items, note="no perf checks")
    r.components["valgrind"] = Component("valgrind", points.valgrind,
                                         [Item("memcheck", valgrind, "clean")] if built else [])
    return r


def gtest_item(name, status=PASS, source="stage1_context/tests/context_test.cpp"):
    return Item(name, status, "" if status == PASS else f"{name}: expected 1, got 2", source)


def perf_item(name, status, **figures):
    return Item(name, status, f"{name}: measured", figures=figures)


def by_name(doc):
    return {t["name"]: t for t in doc["tests"]}


def results():
    """Stage 1 all there; stage 2 with a failing test, a held test and a failing perf check."""
    s1 = stage_result("stage1_context", [gtest_item("Context.Switch"), gtest_item("Stack.Grow")],
                      [perf_item("context switch", PASS, ratio=(12.5, "desc"))])
    s2 = stage_result("stage2_queues",
                      [gtest_item("Ring.Push", source="stage2_queues/tests/ring_queue_test.cpp"),
                       gtest_item("Ring.Pop", FAIL, "stage2_queues/tests/ring_queue_test.cpp"),
                       gtest_item("Secret.Park", FAIL, SECRET),
                       gtest_item("Skipped.One", SKIP)],
                      [perf_item("false sharing", FAIL, factor=(0.9, "desc")),
                       perf_item("lonely", SKIP)],
                      valgrind=FAIL)
    return [s1, s2]


def test_results_json_follows_the_spec():
    check_spec(report.gradescope(results(), "transcript", held=frozenset()))
    check_spec(report.gradescope(results(), "transcript", held={SECRET}))
    broken = stage_result("stage3_stealing", [], built=False)
    check_spec(report.gradescope([broken], "transcript", held=frozenset()))


def test_one_test_per_stage_part_adding_up_to_the_points_table():
    doc = report.gradescope(results(), "transcript", held=frozenset())
    assert list(by_name(doc)) == [
        "stage1_context: tests", "stage1_context: perf: context switch", "stage1_context: valgrind",
        "stage2_queues: tests", "stage2_queues: perf: false sharing", "stage2_queues: valgrind"]
    total = sum(sum(vars(POINTS[s]).values()) for s in ("stage1_context", "stage2_queues"))
    assert sum(t["max_score"] for t in doc["tests"]) == pytest.approx(total)
    assert sum(t["score"] for t in doc["tests"]) == pytest.approx(sum(r.score for r in results()))
    s2 = by_name(doc)["stage2_queues: tests"]           # 2 of 3 graded tests failed
    assert s2["score"] == pytest.approx(POINTS["stage2_queues"].tests / 3)
    assert "Ring.Pop: expected 1, got 2" in s2["output"]


def test_a_stage_that_does_not_build_scores_nothing_and_says_why():
    doc = report.gradescope([stage_result("stage3_stealing", [], built=False)], "", held=frozenset())
    tests = by_name(doc)
    assert tests["stage3_stealing: tests"]["max_score"] == POINTS["stage3_stealing"].tests
    assert "x.cpp:1: error: boom" in tests["stage3_stealing: tests"]["output"]
    assert all(t["score"] == 0 and t["status"] == "failed" for t in doc["tests"])


def test_held_tests_are_a_test_of_their_own_shown_after_the_due_date():
    doc = report.gradescope(results(), "PASS Ring.Push\nFAIL Secret.Park", held={SECRET})
    tests = by_name(doc)
    mine, theirs = tests["stage2_queues: tests"], tests["stage2_queues: held tests"]
    assert theirs["visibility"] == "after_due_date" and "held" in theirs["tags"]
    assert mine["visibility"] == "visible" and "Secret.Park" not in mine["output"]
    assert "Secret.Park" in theirs["output"]
    third = POINTS["stage2_queues"].tests / 3            # one of the 3 graded tests is held
    assert (theirs["score"], theirs["max_score"]) == (0, pytest.approx(third))
    assert mine["max_score"] == pytest.approx(2 * third)
    # The transcript names the held test: it stays out of the top-level output.
    assert "Secret.Park" not in doc["output"] and doc["stdout_visibility"] == "after_due_date"
    assert tests["stage1_context: tests"]["visibility"] == "visible"


def test_a_test_that_names_a_held_test_is_shown_with_held_tests():
    rs = results()
    rs[1].components["valgrind"].items[0].output = "at Secret_Park_Test (secret_park_test.cpp:9)"
    tests = by_name(report.gradescope(rs, "", held={SECRET}))
    assert tests["stage2_queues: valgrind"]["visibility"] == "after_due_date"
    assert tests["stage1_context: valgrind"]["visibility"] == "visible"


def test_without_held_tests_everything_is_visible_and_the_transcript_shown():
    doc = report.gradescope(results(), "the transcript", held=frozenset())
    assert {t["visibility"] for t in doc["tests"]} == {"visible"}
    assert doc["output"] == "the transcript" and doc["stdout_visibility"] == "visible"


def test_the_secret_visibility_is_the_one_asked_for(monkeypatch):
    doc = report.gradescope(results(), "", "after_published", held={SECRET})
    assert by_name(doc)["stage2_queues: held tests"]["visibility"] == "after_published"
    with pytest.raises(ValueError):
        report.gradescope(results(), "", "hidden", held={SECRET})
    monkeypatch.setattr("sys.argv", ["grader", "--json", "r.json", "--secret-visibility",
                                     "after_published"])
    assert cli.parse_args().secret_visibility == "after_published"
    monkeypatch.setattr("sys.argv", ["grader", "--json", "r.json"])
    monkeypatch.delenv("GREEN_SECRET_VISIBILITY", raising=False)
    assert cli.parse_args().secret_visibility == "after_due_date"
    monkeypatch.setenv("GREEN_SECRET_VISIBILITY", "after_published")   # make grade JSON=...
    assert cli.parse_args().secret_visibility == "after_published"
    monkeypatch.setattr("sys.argv", ["grader", "--secret-visibility", "hidden"])
    with pytest.raises(SystemExit):
        cli.parse_args()


def test_a_test_of_unknown_source_is_held_if_its_stages_binary_has_held_tests():
    crashed = Item("Secret.Crash", FAIL, "killed by SIGSEGV")      # rerun alone, no JSON
    assert held.is_held(crashed, "stage2_queues", {SECRET})
    assert held.is_held(crashed, "stage3_stealing", {SECRET})       # stage 3's binary has it
    assert not held.is_held(crashed, "stage1_context", {SECRET})
    assert not held.is_held(crashed, "stage2_queues", frozenset())
    assert not held.is_held(gtest_item("Ring.Push"), "stage2_queues", {SECRET})


def test_perf_figures_make_the_leaderboard():
    board = report.gradescope(results(), "", held=frozenset())["leaderboard"]
    assert board == [
        {"name": "stage1_context: context switch: ratio", "value": 12.5, "order": "desc"},
        {"name": "stage2_queues: false sharing: factor", "value": 0.9, "order": "desc"}]
    rs = results()
    rs[0].components["perf"].items[0].figures = {"ratio": (math.inf, "asc")}   # no baseline
    assert len(report.gradescope(rs, "", held=frozenset())["leaderboard"]) == 1


def test_a_perf_check_ranks_its_bounded_figures_its_bounds_way(monkeypatch, tmp_path):
    check = perf.PerfCheck(name="c", program="p", args=(), figures=lambda b: {"a": 1.2, "b": 3.0, "c": 0.0},
                           bounds=(perf.Bound("a", "<=", 1.5), perf.Bound("b", ">=", 2)),
                           describe="{a} {b}")
    assert check.ranked(check.figures(None)) == {"a": (1.2, "asc"), "b": (3.0, "desc")}
    # run_checks puts them on the check's item.
    monkeypatch.setattr(perf, "run_program", lambda *a: (perf.BenchResults("p", {}), ""))
    (tmp_path / "p").touch()
    [item] = perf.run_checks([check], tmp_path)
    assert item.status == PASS and item.figures == {"a": (1.2, "asc"), "b": (3.0, "desc")}


def test_gtest_results_name_each_tests_source(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"testsuites": [{"name": "Ring", "testsuite": [
        {"name": "Push", "file": "/autograder/source/stage2_queues/tests/ring_queue_test.cpp"},
        {"name": "Pop"}]}]}))
    assert [(i.name, i.source) for i in gtest.parse_json(path)] == [
        ("Ring.Push", "stage2_queues/tests/ring_queue_test.cpp"), ("Ring.Pop", "")]
    assert stages.source_path("/a/stage1_context/x/stage2_queues/tests/t.cpp") == \
        "stage2_queues/tests/t.cpp"
    assert stages.source_path("/usr/include/gtest/gtest.h") == ""


def test_held_files_are_the_test_sources_the_manifest_gives_the_grader(tmp_path):
    root = tmp_path / "repo"
    (root / "mk").mkdir(parents=True)
    (root / "mk" / "starter.py").write_text((stages.ROOT / "mk" / "starter.py").read_text())
    assert held.held_files(root) == frozenset()                 # no manifest: a starter tree
    (root / "mk" / "manifest").write_text("grader mk/manifest\ngrader */tests/*secret_*.cpp\n"
                                          "both stage2_queues/tests/secret_shown_test.cpp\n"
                                          "students stage2_queues/tests/practice_test.cpp\n")
    for f in ("stage2_queues/tests/secret_park_test.cpp", "stage2_queues/tests/secret_shown_test.cpp",
              "stage2_queues/tests/ring_test.cpp", "stage2_queues/tests/practice_test.cpp",
              "stage3_stealing/tests/aux/secret_x.cpp"):
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_text("")
    assert held.held_files(root) == {"stage2_queues/tests/secret_park_test.cpp",
                                     "stage3_stealing/tests/aux/secret_x.cpp"}


def test_this_repositorys_held_files_are_test_sources():
    assert all(f.split("/")[1] == "tests" for f in held.held_files())


def test_gradescope_scores_a_stage_as_the_scoreboard_does():
    stage = "stage2_queues"
    own = [gtest_item(f"Own.T{i}", FAIL, f"{stage}/tests/own_test.cpp") for i in range(3)]
    old = [gtest_item(f"Old.T{i}", PASS, "stage1_context/tests/old_test.cpp") for i in range(5)]
    secret = [gtest_item("Secret.T0", PASS, SECRET)]
    r = stage_result(stage, own + old + secret)
    r.components["tests"].stage = stage
    doc = report.gradescope([r], "transcript", held={SECRET})
    check_spec(doc)
    tests = [t for t in doc["tests"] if "tests" in t["tags"]]
    # Earlier stages' passing tests earn nothing; the held own test earns its share.
    assert sum(t["score"] for t in tests) == pytest.approx(r.components["tests"].score)
    assert sum(t["max_score"] for t in tests) == pytest.approx(POINTS[stage].tests)
    assert by_name(doc)[f"{stage}: held tests"]["score"] == pytest.approx(POINTS[stage].tests / 4)
    assert by_name(doc)[f"{stage}: tests"]["score"] == 0
    # A regression comes off: one earlier test failing takes one own test's worth.
    old[0] = gtest_item("Old.T0", FAIL, "stage1_context/tests/old_test.cpp")
    r = stage_result(stage, own[:2] + [gtest_item("Own.T2", PASS, f"{stage}/tests/own_test.cpp")] + old + secret)
    r.components["tests"].stage = stage
    doc = report.gradescope([r], "transcript", held={SECRET})
    tests = [t for t in doc["tests"] if "tests" in t["tags"]]
    assert sum(t["score"] for t in tests) == pytest.approx(POINTS[stage].tests / 4)
