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

    def fake_run_peer(peer, groups, env=None):
        calls.append((peer.name, tuple(groups)))
        return {"mutex_uncontended": (5.0, "ns")} if "sync" in groups else {}, ""

    monkeypatch.setattr(bench, "run_peer", fake_run_peer)
    sections = bench.peers_sections([(SYNC, {"mutex_uncontended": 15.0}, "bench/sync of phase4_sync")])
    assert calls == [("go", ("sync",)), ("boost_fiber", ("sync",)), ("std", ("sync",))]
    assert len(sections) == 1 and sections[0].startswith("## Peers: phase 4: synchronization")
    assert "| mutex uncontended, 50M lock+unlock (ns) | 15 | 5 | 0.333x |" in sections[0]


ECHO = next(c for c in bench.COMPARISONS if c.program == "echo")
HTTP = next(c for c in bench.COMPARISONS if c.program == "http")


def test_the_ratio_says_how_far_ahead_green_is_whichever_way_is_better():
    assert bench.ratio(100.0, 50.0, "lower") == 0.5      # ns: the peer takes half the time
    assert bench.ratio(100.0, 50.0, "higher") == 2.0     # rt/s: green does twice as many
    assert bench.ratio(1.0, 0.9, "") is None             # CPU used: no ratio
    assert bench.ratio(None, 5.0, "higher") is None and bench.ratio(0.0, 5.0, "lower") is None


def test_the_echo_and_http_tables_read_bench_echo_and_bench_http(monkeypatch):
    echo = bench.green_figures(perf.BenchResults("echo", {"benchmarks": [
        {"name": "BM_Echo/workers:1/conns:100/iterations:1/real_time", "green_rt_s": 80000.0,
         "epoll_rt_s": 100000.0, "ratio": 0.8, "green_server_cores": 0.9},
        {"name": "BM_IdleConnMemory/conns:10000/lean:0/iterations:1/real_time", "bytes_per_conn": 3000.0},
    ]}), ECHO.workloads)
    assert echo == {"echo workers=1 conns=100": 80000.0, "echo_vs_epoll workers=1 conns=100": 0.8,
                    "echo_server_cores workers=1 conns=100": 0.9, "echo_idle_memory conns=10000": 3000.0}
    columns = {"go": {"echo workers=1 conns=100": (100000.0, "rt/s"),
                      "echo_server_cores workers=1 conns=100": (1.0, "cores"),
                      "echo_idle_memory conns=10000": (7500.0, "bytes")}}
    text = bench.comparison_table(ECHO, echo, columns)
    assert "| echo, 100 connections, 1 worker (round trips/s) | 80,000 | 100,000 | 0.8x |" in text
    assert "| echo, 100 connections, 1 worker: server CPU (cores) | 0.9 | 1 | — |" in text
    assert "| memory per idle connection, 10,000 connections (bytes) | 3000 | 7500 | 2.5x |" in text
    http = bench.green_figures(perf.BenchResults("http", {"benchmarks": [
        {"name": "BM_Http/workers:2/conns:1000/iterations:1/real_time", "req_per_s": 70000.0,
         "p99_ms": 20.0, "errors": 0.0}]}), HTTP.workloads)
    assert http == {"http workers=2 conns=1000": 70000.0, "http_p99 workers=2 conns=1000": 20.0,
                    "http_errors workers=2 conns=1000": 0.0}
    # Go's lines (grader/peers/go/io.go) name the same keys.
    assert bench.parse_peer_line("peer=go bench=http_p99 workers=2 conns=1000 value=31.4 unit=ms")[1] \
        in {w.key for w in HTTP.workloads}


def test_the_server_peers_get_the_directory_of_greens_load_generators(monkeypatch):
    seen = []
    monkeypatch.setattr(bench, "run_peer", lambda peer, groups, env=None: seen.append((peer.name, env)) or ({}, ""))
    env = {"GREEN_IO_BENCH": "/x/build/release/phase5_io/bench"}
    bench.peers_sections([(ECHO, {}, "bench/echo of phase5_io")], env)
    assert seen == [("go", env)]


TASKS = next(c for c in bench.COMPARISONS if c.program == "tasks")


def test_the_tasks_table_reads_bench_tasks_and_the_peers_lines(monkeypatch):
    green = bench.green_figures(perf.BenchResults("tasks", {"benchmarks": [
        {"name": "BM_GroupFib/2/iterations:1/real_time", "seconds": 0.3},
        {"name": "BM_GroupRunWait/100000/iterations:3", "ns_per_task": 90.0},
        {"name": "BM_AsyncGet/iterations:1", "ns_per_pair": 200.0},
        {"name": "BM_Skynet/1/iterations:1/real_time", "ms": 40.0},
        {"name": "BM_WhenAll/iterations:1", "us": 900.0},
        {"name": "BM_ForCompute/2/iterations:1/real_time", "ms": 230.0},
        {"name": "BM_GraphChain/iterations:1", "ns_per_node": 50.0},
    ]}), TASKS.workloads)
    assert green == {"group_fib workers=2": 0.3, "group_run_wait n=100000": 90.0, "async_get": 200.0,
                     "skynet workers=1": 40.0, "when_all n=10000": 900.0, "for_compute workers=2": 230.0,
                     "graph_chain": 50.0}
    # The peers' lines (tbb_bench.cpp, openmp_bench.cpp, go/bench.go) name the same keys.
    keys = {w.key for w in TASKS.workloads}
    for line in ("peer=tbb bench=group_fib workers=2 value=0.2 unit=s",
                 "peer=tbb bench=graph_layers value=4400 unit=ns",
                 "peer=tbb bench=when_all n=10000 value=700 unit=us",
                 "peer=tbb bench=for_compute workers=1 value=450 unit=ms",
                 "peer=openmp bench=reduce_sum workers=2 value=42 unit=ms",
                 "peer=openmp bench=for_compute workers=2 value=230 unit=ms",
                 "peer=go bench=when_all n=10000 value=2500 unit=us",
                 "peer=go bench=skynet workers=2 value=660 unit=ms"):
        assert bench.parse_peer_line(line)[1] in keys
    calls = []
    monkeypatch.setattr(bench, "run_peer", lambda peer, groups, env=None: calls.append(peer.name) or (
        {"async_get": (250.0, "ns"), "async_get workers=1": (240.0, "ns")} if peer.name == "go" else {}, ""))
    [text] = bench.peers_sections([(TASKS, green, "bench/tasks of phase6_tasks")])
    assert calls == ["go", "tbb", "openmp"]
    assert "| async+get of an empty function, a worker per CPU (ns/pair) | 200 | 250 | 1.25x |" in text
    columns = {"go": {"async_get workers=1": (240.0, "ns"), "when_all n=10000 workers=1": (3000.0, "us")},
               "openmp": {"for_compute schedule=dynamic4096 workers=2": (240.0, "ms")}}
    rows = [key for _, key in bench.table_rows(TASKS, columns)]
    assert rows[rows.index("async_get") + 1] == "async_get workers=1"
    assert rows[rows.index("when_all n=10000") + 1] == "when_all n=10000 workers=1"
    assert rows[rows.index("for_compute workers=2") + 1] == "for_compute schedule=dynamic4096 workers=2"
