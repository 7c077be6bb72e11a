"""Which perf checks run where, and which runs they share (no program runs:
run_program and run_pair are replaced by fakes that count calls)."""

from grader import perf

LATEST = "phase3_preempt"


def names(stage, latest=LATEST):
    return [c.name for c in perf.checks_for(stage, latest)]


def test_an_earlier_stage_runs_only_its_own_checks():
    assert names("stage3_stealing") == [c.name for c in perf.CHECKS["stage3_stealing"]]


def test_the_latest_stage_runs_every_earlier_stages_checks_too():
    got = names(LATEST)
    assert "yield vs stage 4" in got
    assert "yield vs stage 1 (stage3_stealing's check, on phase3_preempt)" in got
    assert "context switch (stage1_context's check, on phase3_preempt)" in got
    earlier = sum(len(perf.CHECKS[s]) for s in ("stage1_context", "stage2_queues",
                                                 "stage3_stealing", "stage4_tagging"))
    assert len(got) == len(perf.CHECKS[LATEST]) + len(perf.LATEST_CHECKS) + earlier
    park = next(c for c in perf.checks_for(LATEST, LATEST) if c.name.startswith("park/unpark"))
    assert park.baseline[0] == "stage3_stealing"   # keeps its baseline


def test_a_latest_check_needs_its_baseline_stage_before_it():
    assert "yield vs stage 4" not in names("stage4_tagging", latest="stage4_tagging")


def test_a_paired_runs_halves_serve_checks_of_the_same_program_and_args(monkeypatch, tmp_path):
    calls = []
    results = perf.BenchResults("runtime", {"benchmarks": [
        {"name": perf.YIELD_RUNTIME, "ns_per_yield": 40.0},
        {"name": "BM_YieldLocalScheduler/iterations:1/real_time", "ns_per_yield": 35.0}]})
    monkeypatch.setattr(perf, "run_pair", lambda *a: calls.append(a) or ((results, results), ""))
    monkeypatch.setattr(perf, "run_program", lambda *a: calls.append(a) or (results, ""))
    for stage in (LATEST, "stage4_tagging"):
        (tmp_path / stage).mkdir()
        (tmp_path / stage / "runtime").touch()
    yields = [c for c in perf.checks_for(LATEST, LATEST) if c.name.startswith("yield")]
    items = perf.run_checks(yields, tmp_path / LATEST, lambda stage: tmp_path / stage)
    assert [i.status for i in items] == [perf.PASS, perf.PASS]
    assert "40.0 ns per yield, stage 4's build 40.0 ns" in items[0].output
    assert len(calls) == 1   # the pair only
