"""How a component scores (results.py)."""

from grader.results import FAIL, PASS, Component, Item


def test_a_stage_earns_its_own_tests_and_loses_a_point_per_earlier_test_it_breaks():
    own = [Item(f"Own.T{i}", PASS, source="s2/tests/own_test.cpp") for i in range(4)]
    earlier = [Item(f"Old.T{i}", PASS, source="s1/tests/old_test.cpp") for i in range(4)]
    comp = lambda items: Component("tests", 60, items, stage="s2")
    assert comp(own + earlier).score == 60
    # Earlier stages' tests passing earn nothing: a starter tree scores 0.
    stubbed = [Item(i.name, FAIL, "stage 2: yours to write", i.source) for i in own]
    assert comp(stubbed + earlier).score == 0
    # An earlier test broken costs one of the stage's own; never below 0.
    broken = [Item("Old.T0", FAIL, "regressed", "s1/tests/old_test.cpp")] + earlier[1:]
    assert comp(own + broken).score == 45
    assert comp(stubbed[:3] + own[3:] + [Item(i.name, FAIL, "", i.source) for i in earlier]).score == 0
    # A test of unknown source (it crashed when rerun) counts as the stage's own.
    assert comp(own[:3] + [Item("Own.T3", FAIL, "crashed")] + earlier).score == 45
    # Other components, and a tests component without a stage, score by all items.
    assert Component("tests", 60, stubbed + earlier).score == 30
