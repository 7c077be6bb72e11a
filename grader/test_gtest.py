"""How a test binary that crashes or hangs is graded (no program runs:
proc.run is replaced by a fake GoogleTest binary on a fake clock)."""

import json

import pytest

from grader import gtest, proc
from grader.results import FAIL, PASS, Component


class FakeBinary:
    """proc.run for a GoogleTest binary whose tests each "pass", "fail",
    "crash" (a signal, no JSON) or "hang" (until the timeout). Every run takes
    1 s of the fake clock, a hang its whole timeout."""

    def __init__(self, tests):
        self.tests, self.now, self.timeouts = tests, 0.0, []

    def clock(self):
        return self.now

    def run(self, cmd, timeout, **_):
        self.now += 1
        args = cmd[1:]
        if args == ["--gtest_list_tests"]:
            suites = {}
            for name in self.tests:
                suite, test = name.split(".")
                suites.setdefault(suite, []).append(test)
            return proc.Run(0, "".join(f"{s}.\n" + "".join(f"  {t}\n" for t in ts)
                                       for s, ts in suites.items()))
        self.timeouts.append(timeout)
        out = next(a.split(":", 1)[1] for a in args if a.startswith("--gtest_output=json:"))
        only = [a.split("=", 1)[1] for a in args if a.startswith("--gtest_filter=")]
        selected = {n: how for n, how in self.tests.items() if not only or n in only}
        if "hang" in selected.values():
            self.now += timeout
            return proc.Run(None, "spinning\n", timed_out=True, timeout=timeout)
        if "crash" in selected.values():
            return proc.Run(-11, "about to crash\n")
        cases = {}
        for name, how in selected.items():
            suite, test = name.split(".")
            failures = [{"failure": "expected 1, got 2"}] if how == "fail" else []
            cases.setdefault(suite, []).append({"name": test, "failures": failures})
        with open(out, "w") as f:
            json.dump({"testsuites": [{"name": s, "testsuite": cs} for s, cs in cases.items()]}, f)
        return proc.Run(1 if "fail" in selected.values() else 0, "")


@pytest.fixture
def binary(tmp_path, monkeypatch):
    """Make a FakeBinary the test binary: binary(tests) -> (its path, the fake)."""
    monkeypatch.delenv("GREEN_GRADER_TIMEOUT_SCALE", raising=False)

    def make(tests):
        fake = FakeBinary(tests)
        monkeypatch.setattr(proc, "run", fake.run)
        monkeypatch.setattr(gtest, "monotonic", fake.clock)
        path = tmp_path / "green_tests"
        path.touch()
        return path, fake
    return make


def statuses(run):
    return {i.name: i.status for i in run.items}


def test_a_binary_that_runs_is_graded_from_its_one_run(binary):
    path, fake = binary({"A.ok": "pass", "A.bad": "fail"})
    run = gtest.run(path, "release")
    assert statuses(run) == {"A.ok": PASS, "A.bad": FAIL}
    assert run.note == "" and len(fake.timeouts) == 1


def test_a_crashing_test_costs_that_test_only(binary):
    path, _ = binary({"A.one": "pass", "A.boom": "crash", "B.two": "pass", "B.bad": "fail"})
    run = gtest.run(path, "release")
    assert statuses(run) == {"A.one": PASS, "A.boom": FAIL, "B.two": PASS, "B.bad": FAIL}
    assert "was killed by SIGSEGV" in run.items[1].output
    assert "about to crash" in run.items[1].output
    assert "rerun alone" in run.note
    tests = Component("tests", 60, run.items, note=run.note)
    assert tests.score == 30 and tests.max_score == 60


def test_a_run_that_fails_only_as_a_whole_costs_one_item(binary, monkeypatch):
    path, fake = binary({"A.one": "pass", "A.two": "pass"})
    whole_run = fake.run
    monkeypatch.setattr(proc, "run", lambda cmd, timeout, **kw:
                        proc.Run(-6, "abort\n") if len(cmd) == 2 and "json" in cmd[1]
                        else whole_run(cmd, timeout, **kw))
    run = gtest.run(path, "release")
    assert [i.status for i in run.items] == [PASS, PASS, FAIL]
    assert "interfere" in run.items[-1].output
    assert Component("tests", 60, run.items).score == 40


def test_the_stage_budget_bounds_a_binary_whose_every_test_hangs(binary):
    tests = {f"S.t{i}": "hang" for i in range(100)}   # 100 x 120 s alone: 3 h 20 min
    path, fake = binary(tests)
    run = gtest.run(path, "release")
    assert fake.now <= gtest.STAGE_BUDGET + len(tests)   # + 1 s per fake run
    assert max(fake.timeouts) == gtest.WHOLE_TIMEOUT
    assert all(t <= gtest.SINGLE_TIMEOUT for t in fake.timeouts[1:])
    not_run = [i for i in run.items if i.output.startswith("not run")]
    assert not_run and all(i.status == FAIL for i in run.items)
    assert not_run[0].output == "not run: the stage's time budget (1800 s) ran out"
    assert f"{len(not_run)} tests were not run" in run.note
    assert len(fake.timeouts) == 1 + len(tests) - len(not_run)


def test_the_stage_budget_scales_like_every_timeout(binary, monkeypatch):
    path, _ = binary({f"S.t{i}": "hang" for i in range(100)})
    monkeypatch.setenv("GREEN_GRADER_TIMEOUT_SCALE", "0.5")
    run = gtest.run(path, "debug")   # x2 for debug, x0.5
    assert run.items[-1].output == "not run: the stage's time budget (1800 s) ran out"
    assert proc.timeout(gtest.STAGE_BUDGET, "tsan") == 5 * 0.5 * gtest.STAGE_BUDGET


def test_the_last_rerun_gets_what_is_left_of_the_budget(binary, monkeypatch):
    path, fake = binary({"S.a": "hang", "S.b": "pass"})
    monkeypatch.setattr(gtest, "STAGE_BUDGET", gtest.WHOLE_TIMEOUT + 50)
    run = gtest.run(path, "release")
    assert fake.timeouts[1:] == [48]   # 950 s, less the whole run (901) and the listing (1)
    assert run.items[0].output.startswith("S.a timed out after 48 s")
    assert run.items[1].output == "not run: the stage's time budget (950 s) ran out"
