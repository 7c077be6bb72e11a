"""`make bench`'s tables of green against its peers: how green's figures and
the peers' lines are read, which table a figure goes to, and which peers run
which groups of workloads (no program runs: run_peer is replaced by a fake)."""

from grader import bench, perf, stages

SYNC = next(c for c in bench.COMPARISONS if c.program == "sync")
RUNTIME = next(c for c in bench.COMPARISONS if c.program == "runtime")


def results(*benchmarks):
    return perf.BenchResults("sync", {"benchmarks": list(benchmarks)})


def test_a_peer_line_is_its_peer_key_value_and_unit():
    assert bench.parse_peer_line("peer=go bench=mutex_contended tasks=64 work=0 workers=2 value=23.6 unit=ns") \
        == ("go", "mutex_contended tasks=64 work=0 workers=2", 23.6, "ns")
    assert bench.parse_peer_line("== peer go: running sync") is None


def test_green_figures_come_from_named_arguments_and_skip_errors():
    got = bench.green_figures(results(
        {"name": "BM_ThreadRing/workers:2/iterations:1/real_time", "ns_per_pass": 120.0, "s": 1.2},
        {"name": "BM_ThreadRing/workers:1/iterations:1/real_time", "error_occurred": True,
         "ns_per_pass": 1.0},
        {"name": "BM_MutexContended/work:90/workers:2/iterations:1/real_time", "ns_per_section": 60.0,
         "work_alone_ns": 100.0},
    ), SYNC.workloads)
    assert got == {"threadring workers=2": 120.0, "threadring_s workers=2": 1.2,
                   "mutex_contended tasks=64 work=90 workers=2": 60.0, "mutex_work_alone work=90": 100.0}


def test_the_stage3_workloads_still_read_bench_runtime():
    got = bench.green_figures(results(
        {"name": "BM_FibFine/2/iterations:1/real_time", "seconds": 0.6},
        {"name": "BM_SpawnJoin/1000/iterations:3", "ns_per_task": 130.0},
    ), RUNTIME.workloads)
    assert got == {"fib_fine workers=2": 0.6, "spawn_join n=1000": 130.0}


def test_keys_are_unique_and_each_comparison_reads_a_bench_program_that_exists():
    for c in bench.COMPARISONS:
        keys = [w.key for w in c.workloads]
        assert len(keys) == len(set(keys)), c.title
        assert any((stages.ROOT / s / "bench" / f"{c.program}.cpp").exists() for s in stages.STAGES)
    assert {c.group for c in bench.COMPARISONS} >= {g for p in bench.PEERS for g in p.about}


def test_a_peers_own_figure_follows_the_rows_of_its_workload_in_its_own_table():
    columns = {"boost_fiber": {"threadring chan=buffered2 workers=1": (115.0, "ns"),
                               "fib_fine fib=25 workers=1": (0.5, "s")},
               "std": {"mutex_contended threads=2 work=0": (27.0, "ns")}}
    rows = [key for _, key in bench.table_rows(SYNC, columns)]
    assert "fib_fine fib=25 workers=1" not in rows  # the runtime table's
    ring = rows.index("threadring chan=buffered2 workers=1")
    assert rows[ring - 1] == "threadring workers=2" and rows[ring + 1] == "threadring_s workers=1"
    assert rows[rows.index("mutex_contended threads=2 work=0") - 1] == \
        "mutex_contended tasks=64 work=90 workers=2"
    assert "fib_fine fib=25 workers=1" in [key for _, key in bench.table_rows(RUNTIME, columns)]


def test_a_table_has_a_column_only_for_peers_with_figures_in_it():
    columns = {"tbb": {"fib_fine workers=2": (0.2, "s")},
               "go": {"threadring workers=2": (120.0, "ns"), "fib_fine workers=2": (4.8, "s")}}
    text = bench.comparison_table(SYNC, {"threadring workers=2": 240.0}, columns)
    assert "tbb" not in text
    assert "| thread-ring 503 x 10M, 2 workers (ns/pass) | 240 | 120 | 0.5x |" in text
    assert "| 1 ms sleep overshoot p50, 1 worker (us) | — | — | — |" in text


def test_peers_run_only_the_groups_they_have_among_those_green_ran(monkeypatch):
    calls = []

    def fake_run_peer(peer, groups):
        calls.append((peer.name, tuple(groups)))
        return {"mutex_uncontended": (5.0, "ns")} if "sync" in groups else {}, ""

    monkeypatch.setattr(bench, "run_peer", fake_run_peer)
    sections = bench.peers_sections([(SYNC, {"mutex_uncontended": 15.0}, "bench/sync of phase4_sync")])
    assert calls == [("go", ("sync",)), ("boost_fiber", ("sync",)), ("std", ("sync",))]
    assert len(sections) == 1 and sections[0].startswith("## Peers: phase 4: synchronization")
    assert "| mutex uncontended, 50M lock+unlock (ns) | 15 | 5 | 0.333x |" in sections[0]
