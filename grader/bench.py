"""python -m grader.bench [--stage S]: `make bench`.

Builds each selected present stage in release mode (of $CONTEXT), runs the
bench programs that stage adds (<stage>/bench/*.cpp, against that stage's
runtime), shows their output, and writes build/bench/report.md: one table per
program with each benchmark's times and counters. Then it builds and runs the
peer programs (grader/peers/: Go, Boost.Fiber, oneTBB, OpenMP, std) whose
packages are installed, on the workloads of the green programs that ran
(COMPARISONS: stage 1's bench/context_switch, stage 3's bench/runtime, phase 4's bench/sync, phase 5's
bench/echo and bench/http, phase 6's bench/tasks), and tables them next to
green's. Phase 5's peers are servers: the peer program starts them and
measures them with green's own load generators (the stage's bench/echo and
bench/http, run as instruments; their directory goes to the peer as
GREEN_IO_BENCH).
"""

import argparse
import datetime
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import perf, plots, proc, report, stages

REPORT = stages.ROOT / "build" / "bench" / "report.md"
# Fields of a Google Benchmark JSON entry that are not user counters.
STANDARD_FIELDS = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type",
    "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time",
    "time_unit", "aggregate_name", "aggregate_unit", "label", "error_occurred", "error_message",
}

PEER_DIR = stages.ROOT / "build" / "bench" / "peers"
# The C++ peers share the phase 4 workloads' definitions with green's bench/sync.
CXX = ("g++", "-O2", "-std=c++20", "-Iphase4_sync/bench", "-Istage2_queues/bench")


@dataclass(frozen=True)
class Peer:
    """A program running green's workloads in another runtime (grader/peers/).
    It prints one line per figure, e.g.
    `peer=go bench=fib_fine workers=2 value=0.91 unit=s`, and runs the groups
    of workloads its command line names (all of them without an argument)."""
    name: str        # its column in the tables; its lines' peer=; its binary in PEER_DIR
    package: str     # the Debian package it needs
    needs: str       # a command or a file that is there when the package is installed
    build: tuple     # the command building PEER_DIR/<name>, run from the repo root
    about: dict      # group of workloads it runs -> how it runs them, for the report
    env: dict = field(default_factory=dict)  # for the build

    def installed(self):
        return bool(shutil.which(self.needs)) or Path(self.needs).exists()


# The programs `make bench` compares green with, where their packages are installed.
PEERS = (
    Peer("go", "golang-go", "go",
         ("go", "build", "-o", PEER_DIR / "go", "grader/peers/go/bench.go", "grader/peers/go/io.go"),
         {"runtime": "goroutines and sync.WaitGroup; workers = GOMAXPROCS (spawn+join: one per CPU); "
                     "yield: runtime.Gosched; park/unpark across workers: an unbuffered chan, "
                     "the sender never blocking (select with default)",
          "sync": "sync.Mutex, sync.Cond, unbuffered chan, time.Sleep; workers = GOMAXPROCS (the "
                  "uncontended mutex and the sleepers: 2)",
          "echo": "net: a goroutine per connection (Read 4 KiB, Write back), in a child process with "
                  "GOMAXPROCS = workers, driven by bench/echo's load generator; idle memory with "
                  "GOMAXPROCS=2",
          "http": "net/http, GOMAXPROCS=2, in a child process, under the same wrk run as green's",
          "tasks": "skynet: the reference one, goroutines and an unbuffered channel per inner node, "
                   "workers = GOMAXPROCS; async+get: a goroutine sending on a channel of capacity 1, "
                   "received at once; when_all: 10,000 such goroutines and channels, all created, "
                   "then received in order (median of 21 after a warm-up); both with GOMAXPROCS = "
                   "one per CPU (and 1: workers=1)"},
         # Standard library only, so nothing to download; Go's caches stay in build/.
         env={"GOCACHE": str(PEER_DIR / "go-cache"), "GOPATH": str(PEER_DIR / "go-path")}),
    Peer("boost_fiber", "libboost-fiber-dev", "/usr/include/boost/fiber/all.hpp",
         (*CXX, "-o", PEER_DIR / "boost_fiber", "grader/peers/boost_fiber_bench.cpp",
          "-lboost_fiber", "-lboost_context"),
         {"runtime": "fibers on 16 KiB fixedsize_stacks; 1 worker: the default round_robin on one "
                     "thread; 2 workers and spawn+join: algo::work_stealing on 2 threads; fib(25), not "
                     "fib(32): its FIFO schedulers keep nearly the whole call tree alive (fib(32) would "
                     "need ~70 GB)",
          "switch": "Boost.Context's jump_fcontext (detail/fcontext.hpp), the routine under Boost.Fiber: "
                    "main and one context, 20M round trips, median of 5",
          "sync": "fibers::mutex, condition_variable, unbuffered_channel, this_fiber::sleep_for; 1 "
                  "worker: round_robin, 2: work_stealing on 2 threads; the uncontended mutex runs 20M "
                  "pairs, not 50M; thread-ring, sleepers and sleep on one thread only; the sleepers' "
                  "shared rows use pooled_fixedsize_stack(16 KiB)"}),
    Peer("tbb", "libtbb-dev", "/usr/include/oneapi/tbb/task_group.h",
         (*CXX, "-o", PEER_DIR / "tbb", "grader/peers/tbb_bench.cpp", "-ltbb"),
         {"runtime": "tbb::task_group; workers = a task_arena of that many threads (spawn+join: the "
                     "default arena, one thread per CPU); oneTBB has no yield",
          "tasks": "task_group (fib, run+wait, skynet; oneTBB has no futures: async+get is a "
                   "task_group running one empty function, then wait; when_all: one task_group of "
                   "10,000 runs writing r[i] = i, one wait, median of 21 after a warm-up), "
                   "parallel_for and parallel_reduce over blocked_range<long> (grain 1) with "
                   "auto_partitioner (median of 5 after a warm-up), flow graph continue_nodes fed by "
                   "a broadcast_node (built once, run once untimed, median of 21 runs); workers = a "
                   "task_arena of that many threads, else the default arena (one thread per CPU)"}),
    Peer("openmp", "g++", "g++",  # libgomp comes with g++
         (*CXX, "-fopenmp", "-o", PEER_DIR / "openmp", "grader/peers/openmp_bench.cpp"),
         {"tasks": "GCC's libgomp: parallel for schedule(static), reduction(+) for the sum, "
                   "num_threads(workers); median of 5 after a warm-up; schedule=dynamic4096 rows: "
                   "schedule(dynamic, 4096) on 2 threads"}),
    Peer("std", "g++", "g++",
         (*CXX, "-o", PEER_DIR / "std", "grader/peers/std_bench.cpp"),
         {"sync": "OS threads, unpinned: std::mutex, std::condition_variable (20,000 hand-offs per "
                  "thread), std::this_thread::sleep_for; threads=T rows are T threads, not workers"}),
)


@dataclass(frozen=True)
class Workload:
    """A row of a comparison: green's benchmark (its family and arguments, as
    perf.benchmark_key gives them) and counter, and the key of the peers'
    line: what it says besides peer, value and unit. better: which way the
    figure is better, "lower" (times, sizes), "higher" (rates) or "" (CPU
    used, a ratio only green has: no ratio column)."""
    row: str
    benchmark: str
    counter: str
    key: str
    better: str = "lower"


@dataclass(frozen=True)
class Comparison:
    """A table of green against its peers: green's figures come from one of its
    bench programs, the peers' from their group of workloads of that name."""
    title: str
    program: str      # bench/<program>.cpp, run on the latest stage of the run (main)
    group: str        # the peers' command-line argument for these workloads
    workloads: tuple  # Workloads, in the table's order

    def owns(self, key):
        """Whether a peer's figure belongs in this table: its bench= is one of ours."""
        return key.split()[0] in {w.key.split()[0] for w in self.workloads}


# PEER-WORKLOADS.md section 1; bench/context_switch.cpp (stage 1). The two
# reference switches built there are green's own baselines (no peer needed).
SWITCH_WORKLOADS = (
    Workload("context switch, assembly (ns/switch)", "BM_AsmSwitch", "ns_per_switch", "switch"),
    Workload("reference built here: Boost.Context's method, both control words reloaded each switch "
             "(ns/switch)", "BM_FcontextStyleSwitch", "ns_per_switch", "switch_fcontext_style"),
    Workload("reference built here: the six registers only, the floor (ns/switch)", "BM_MinimalSwitch",
             "ns_per_switch", "switch_minimal"),
)

RUNTIME_WORKLOADS = (
    *(Workload(f"spawn+join N={n:,} (ns/task)", f"BM_SpawnJoin/{n}", "ns_per_task", f"spawn_join n={n}")
      for n in (1_000, 10_000, 100_000, 1_000_000)),
    Workload("spawn alone, 100,000 empty tasks, no join timed (ns/spawn)", "BM_Spawn", "ns_per_spawn",
             "spawn n=100000"),
    Workload("fib(32) fine, 1 worker (s)", "BM_FibFine/1", "seconds", "fib_fine workers=1"),
    Workload("fib(32) fine, 2 workers (s)", "BM_FibFine/2", "seconds", "fib_fine workers=2"),
    Workload("yield, 1 worker (ns/yield)", "BM_YieldRuntime/1", "ns_per_yield", "yield workers=1"),
    Workload("park/unpark across workers, the waker busy, 2 workers (ns/round trip)", "BM_PingPongCallback/1",
             "ns_per_round_trip", "handoff_busy workers=2"),
    *(Workload(f"park/unpark across workers, the waker busy, 2 workers: {q} (ns/round trip)",
               "BM_PingPongCallback/1", f"{q}_ns", f"handoff_busy_{q} workers=2") for q in ("p50", "p99")),
)


def _workers(w):
    return f"{w} worker{'s' if w > 1 else ''}"


# PEER-WORKLOADS.md sections 6-8 and 10; bench/sync.cpp says how green runs them.
SYNC_WORKLOADS = (
    Workload("mutex uncontended, 50M lock+unlock (ns)", "BM_MutexLockUnlock", "ns_per_op",
             "mutex_uncontended"),
    *(Workload(f"mutex contended, 64 tasks, work {k}, {_workers(w)} (ns/section)",
               f"BM_MutexContended/work:{k}/workers:{w}", "ns_per_section",
               f"mutex_contended tasks=64 work={k} workers={w}")
      for k in (0, 90) for w in (1, 2)),
    Workload("lcg_work(90) alone (ns)", "BM_MutexContended/work:90/workers:2", "work_alone_ns",
             "mutex_work_alone work=90"),
    *(Workload(f"condvar ping-pong, {_workers(w)} (ns/hand-off)", f"BM_CondVarPingPong/workers:{w}",
               "ns_per_handoff", f"pingpong_cv workers={w}") for w in (1, 2)),
    *(Workload(f"channel ping-pong, {'unbuffered' if c == 0 else f'capacity {c}'}, {_workers(w)} "
               "(ns/hand-off)", f"BM_ChannelPingPong/cap:{c}/workers:{w}", "ns_per_handoff",
               f"pingpong_chan cap={c} workers={w}") for c in (0, 1) for w in (1, 2)),
    *(Workload(f"channel ping-pong, unbuffered, {_workers(w)}: {q} over batches of 64 round trips "
               "(ns/hand-off)", f"BM_ChannelPingPong/cap:0/workers:{w}", f"{q}_ns",
               f"pingpong_chan_{q} cap=0 workers={w}") for q in ("p50", "p99") for w in (1, 2)),
    *(Workload(f"thread-ring 503 x 10M, {_workers(w)} ({unit})", f"BM_ThreadRing/workers:{w}", counter,
               f"{bench} workers={w}")
      for bench, counter, unit in (("threadring", "ns_per_pass", "ns/pass"), ("threadring_s", "s", "s"))
      for w in (1, 2)),
    *(Workload(f"100k sleepers x 10 ms, {_workers(w)}: {what}", f"BM_Sleepers/workers:{w}", counter,
               f"sleepers_{counter} n=100000 workers={w}")
      for counter, what in (("s", "gate to end (s)"), ("total_s", "total (s)"),
                            ("peak_rss_per_task", "peak RSS per task (bytes)"))
      for w in (1, 2)),
    *(Workload(f"1 ms sleep overshoot {q}, {_workers(w)} (us)", f"BM_SleepOvershoot/workers:{w}",
               f"{q}_us", f"sleep_overshoot_{q} workers={w}") for q in ("p50", "p99") for w in (1, 2)),
)


def _conns(c):
    return f"{c:,} connection{'s' if c > 1 else ''}"


# PEER-WORKLOADS.md section 5; bench/echo.cpp says how green runs it.
ECHO_WORKLOADS = (
    *(Workload(f"echo, {_conns(c)}, {_workers(w)} (round trips/s)", f"BM_Echo/workers:{w}/conns:{c}",
               "green_rt_s", f"echo workers={w} conns={c}", "higher")
      for c in (100, 1000) for w in (1, 2)),
    *(Workload(f"echo, {_conns(c)}, {_workers(w)}: green / the epoll server in the same run (x)",
               f"BM_Echo/workers:{w}/conns:{c}", "ratio", f"echo_vs_epoll workers={w} conns={c}", "")
      for c in (100, 1000) for w in (1, 2)),
    *(Workload(f"echo, {_conns(c)}, 1 worker: green / the epoll server side by side, per server CPU second (x)",
               f"BM_EchoSideBySide/conns:{c}", "ratio", f"echo_side_by_side conns={c}", "")
      for c in (10, 100, 1000)),
    *(Workload(f"echo, {_conns(c)}, {_workers(w)}: server CPU (cores)", f"BM_Echo/workers:{w}/conns:{c}",
               "green_server_cores", f"echo_server_cores workers={w} conns={c}", "")
      for c in (100, 1000) for w in (1, 2)),
    Workload("memory per idle connection, 10,000 connections (bytes)", "BM_IdleConnMemory/conns:10000/lean:0",
             "bytes_per_conn", "echo_idle_memory conns=10000"),
    Workload("the same, lean: parked in wait_readable, 2 KiB stack, a buffer only while reading (bytes)",
             "BM_IdleConnMemory/conns:10000/lean:1", "bytes_per_conn", "echo_idle_memory_lean conns=10000"),
)

# PEER-WORKLOADS.md section 15; bench/http.cpp says how green runs it.
HTTP_WORKLOADS = tuple(
    Workload(f"HTTP hello, {_conns(c)}, {_workers(w)} ({what})", f"BM_Http/workers:{w}/conns:{c}", counter,
             f"{bench} workers={w} conns={c}", better)
    for c in (100, 1000) for w in (1, 2)
    for bench, counter, what, better in (("http", "req_per_s", "requests/s", "higher"),
                                         ("http_p99", "p99_ms", "p99 latency, ms", "lower"),
                                         ("http_errors", "errors", "socket errors + non-2xx", "")))

# bench/tasks.cpp (phase 6); fib is PEER-WORKLOADS.md section 3's cut0, skynet
# section 9, the loops section 11's scale100m, compute1m and reduce100m,
# async+get and when_all section 12's, the layered graph section 13's (3
# predecessors per node, drawn from mt19937_64(42)).
TASKS_WORKLOADS = (
    *(Workload(f"fib(32), a TaskGroup per call, {_workers(w)} (s)", f"BM_GroupFib/{w}", "seconds",
               f"group_fib workers={w}") for w in (1, 2)),
    Workload("TaskGroup: run 100,000 empty functions, wait, a worker per CPU (ns/task)",
             "BM_GroupRunWait/100000", "ns_per_task", "group_run_wait n=100000"),
    Workload("async+get of an empty function, a worker per CPU (ns/pair)", "BM_AsyncGet", "ns_per_pair",
             "async_get"),
    *(Workload(f"skynet, 10^6 leaves, {_workers(w)} (ms)", f"BM_Skynet/{w}", "ms", f"skynet workers={w}")
      for w in (1, 2)),
    Workload("when_all of 10,000 futures returning their index, a worker per CPU (us for all)",
             "BM_WhenAll", "us", "when_all n=10000"),
    *(Workload(f"parallel_for a[i] = a[i]*2.0 + 1.0, 10^8 doubles (scale100m), {_workers(w)} (ms)",
               f"BM_ForAxpy/{w}", "ms", f"for_axpy workers={w}") for w in (1, 2)),
    *(Workload(f"parallel_for 200 x = x*x*0.5 + 0.25 per element, 10^6 doubles (compute1m), {_workers(w)} "
               "(ms)", f"BM_ForCompute/{w}", "ms", f"for_compute workers={w}") for w in (1, 2)),
    *(Workload(f"parallel_reduce sum of double(i % 1000), 10^8 (reduce100m), {_workers(w)} (ms)",
               f"BM_ReduceSum/{w}", "ms", f"reduce_sum workers={w}") for w in (1, 2)),
    Workload("task graph, 100 x 100 layers, 3 predecessors per node, a worker per CPU (ns/node)",
             "BM_GraphLayers", "ns_per_node", "graph_layers"),
    Workload("task graph, a chain of 10^5 nodes, a worker per CPU (ns/node)", "BM_GraphChain", "ns_per_node",
             "graph_chain"),
)

COMPARISONS = (
    Comparison("stage 1: context switch", "context_switch", "switch", SWITCH_WORKLOADS),
    Comparison("stage 3: runtime", "runtime", "runtime", RUNTIME_WORKLOADS),
    Comparison("phase 4: synchronization", "sync", "sync", SYNC_WORKLOADS),
    Comparison("phase 5: echo", "echo", "echo", ECHO_WORKLOADS),
    Comparison("phase 5: HTTP", "http", "http", HTTP_WORKLOADS),
    Comparison("phase 6: tasks", "tasks", "tasks", TASKS_WORKLOADS),
)


def own_programs(stage):
    """The bench programs a stage adds or changes (its own bench/*.cpp)."""
    return sorted(p.stem for p in (stages.ROOT / stage / "bench").glob("*.cpp"))


def table(bench):
    """One Markdown table for a program's results."""
    host = bench.data.get("context", {})
    lines = [f"{host.get('num_cpus', '?')} CPUs at {host.get('mhz_per_cpu', '?')} MHz\n",
             "| benchmark | time | CPU | iterations | counters |", "|---|---|---|---:|---|"]
    for b in bench.data.get("benchmarks", []):
        if b.get("error_occurred"):
            lines.append(f"| {b['name']} | error: {b.get('error_message', '')} | | | |")
            continue
        unit = b.get("time_unit", "ns")
        counters = ", ".join(f"{k}={v:.4g}" for k, v in b.items()
                             if k not in STANDARD_FIELDS and isinstance(v, (int, float)))
        lines.append(f"| {b['name']} | {b['real_time']:.4g} {unit} | {b['cpu_time']:.4g} {unit} "
                     f"| {b.get('iterations', '')} | {counters} |")
    return "\n".join(lines)


def stage_sections(stage, context):
    """Build a stage and run its own programs; returns (report sections, all ran,
    {program: BenchResults})."""
    print(f"\n== {stage}: building (release, CONTEXT={context})", flush=True)
    build = stages.build(stage, "release", context)
    if not build.ok:
        print(f"build {build.describe()}:\n{build.tail(report.BUILD_LINES)}")
        return [f"## {stage}\n\nThe stage did not build."], False, {}
    sections, ok, results = [], True, {}
    for name in own_programs(stage):
        print(f"\n== {stage}: bench/{name}", flush=True)
        binary = stages.build_dir(stage, "release", context) / "bench" / name
        bench, problem = perf.run_program(binary, (), stream=True)
        sections.append(f"## {stage}: {name}\n\n" + (table(bench) if bench else problem))
        ok = ok and bench is not None
        if bench:
            results[name] = bench
    return sections, ok, results


def green_figures(bench, workloads):
    """{workload key: green's figure} from a bench program's results."""
    figures = {}
    for b in bench.data.get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        name = perf.benchmark_key(b.get("run_name", b["name"]))  # BM_FibFine/2/iterations:1 -> BM_FibFine/2
        for w in workloads:
            if name == w.benchmark and w.counter in b:
                figures[w.key] = b[w.counter]
    return figures


def parse_peer_line(line):
    """`peer=go bench=fib_fine workers=2 value=0.91 unit=s` -> ("go", "fib_fine workers=2", 0.91, "s")."""
    fields = dict(re.findall(r"(\w+)=(\S+)", line))
    if not {"peer", "bench", "value"} <= fields.keys():
        return None
    params = " ".join(f"{k}={v}" for k, v in fields.items() if k not in ("peer", "bench", "value", "unit"))
    return fields["peer"], f"{fields['bench']} {params}".strip(), float(fields["value"]), fields.get("unit", "")


def run_peer(peer, groups, env=None):
    """Build and run one peer on the groups of workloads it has among `groups`
    (env: added to its environment); returns ({key: (value, unit)}, what went
    wrong or "")."""
    if not peer.installed():
        return {}, f"not installed (apt-get install {peer.package})"
    print(f"\n== peer {peer.name}: building", flush=True)
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    build = proc.run(peer.build, proc.timeout(stages.BUILD_TIMEOUT), env=peer.env,
                     cwd=stages.ROOT, limit_output=False)
    if not build.ok:
        return {}, f"building it {build.describe()}:\n```\n{build.tail(20)}\n```"
    print(f"== peer {peer.name}: running {' '.join(groups)}", flush=True)
    run = proc.run([PEER_DIR / peer.name, *groups], proc.timeout(perf.BENCH_TIMEOUT), env=env,
                   cwd=stages.ROOT)
    print(run.output, end="", flush=True)
    figures = {}
    for parsed in map(parse_peer_line, run.output.splitlines()):
        if parsed and parsed[0] == peer.name:
            figures[parsed[1]] = parsed[2:]
    problem = "" if run.ok else f"it {run.describe()}:\n```\n{run.tail(20)}\n```"
    return figures, problem


def table_rows(comparison, columns):
    """(row, key) pairs: green's workloads, each followed by the keys of the
    peers' figures green does not have (boost_fiber's fib(25)) that share its
    bench= (the last such row), or at the end."""
    rows = [(w.row, w.key) for w in comparison.workloads]
    known = {key for _, key in rows}
    for figures in columns.values():
        for key, (_, unit) in figures.items():
            if key in known or not comparison.owns(key):
                continue
            bench = key.split()[0]
            at = max((i for i, (_, k) in enumerate(rows) if k.split()[0] == bench), default=len(rows) - 1)
            rows.insert(at + 1, (f"{key} ({unit})", key))
            known.add(key)
    return rows


def ratio(ours, theirs, better="lower"):
    """How far ahead green is: peer / green for a figure where lower is
    better, green / peer for one where higher is; None without both, or for a
    figure that is neither (better="")."""
    if ours is None or theirs is None or not ours or not theirs or not better:
        return None
    return theirs / ours if better == "lower" else ours / theirs


def comparison_rows(comparison, green, columns):
    """[(row, green's figure, {peer: (its figure, ratio)})] of one comparison:
    what its table shows and its plot draws. columns: the peers with figures
    in it."""
    better = {w.key: w.better for w in comparison.workloads}
    out = []
    for row, key in table_rows(comparison, columns):
        ours = green.get(key)
        theirs = {p: figures.get(key, (None,))[0] for p, figures in columns.items()}
        out.append((row, ours, {p: (t, ratio(ours, t, better.get(key, "lower"))) for p, t in theirs.items()}))
    return out


def owned_columns(comparison, columns):
    """The peers that have figures in this comparison."""
    return {p: f for p, f in columns.items() if any(comparison.owns(k) for k in f)}


def comparison_table(comparison, green, columns):
    """A Markdown table of green's figures ({key: value}) and the peers'
    ({peer: {key: (value, unit)}}) on one comparison's workloads."""
    columns = owned_columns(comparison, columns)

    def cell(x):  # 1.234e+05 reads worse than 123,400
        return "—" if x is None else f"{x:,.0f}" if abs(x) >= 10_000 else f"{x:.4g}"

    lines = ["| workload | green |" + "".join(f" {p} | {p} vs green |" for p in columns),
             "|---|---:|" + "---:|---:|" * len(columns)]
    for row, ours, theirs in comparison_rows(comparison, green, columns):
        cells = [row, cell(ours)]
        for figure, r in theirs.values():
            cells += [cell(figure), "—" if r is None else f"{r:.3g}x"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def comparison_plots(comparison, green, columns, where):
    """The section's plots (grader/plots.py) as Markdown image lines, their
    PNGs written into where; or a line saying how to get them."""
    if not plots.available():
        return "(plots: apt-get install python3-matplotlib, then make bench again)"
    columns = owned_columns(comparison, columns)
    where.mkdir(parents=True, exist_ok=True)
    lines = []
    rows = [(row, {p: r for p, (_, r) in theirs.items()}) for row, _, theirs in
            comparison_rows(comparison, green, columns)]
    ratios = where / f"{comparison.group}-ratios.png"
    if plots.plot_ratios(ratios, f"{comparison.title}: how far ahead green is", rows):
        lines.append(f"![{comparison.title}: green vs peers]({ratios.name})")
    mine = {w.key for w in comparison.workloads}
    units = {re.sub(r"\s*\bworkers=\d+\b", "", w.key).strip(): (re.findall(r"\(([^()]*)\)$", w.row) or [""])[0]
             for w in comparison.workloads}
    series = plots.scaling_series({k: v for k, v in green.items() if k in mine},
                                  {p: {k: v for k, v in f.items() if comparison.owns(k)}
                                   for p, f in columns.items()})
    scaling = where / f"{comparison.group}-scaling.png"
    if plots.plot_scaling(scaling, f"{comparison.title}: over worker counts", series, units):
        lines.append(f"![{comparison.title}: scaling]({scaling.name})")
    return "\n\n".join(lines)


def peers_sections(greens, env=None):
    """Run the peers on the groups of the comparisons green has figures for
    (greens: [(Comparison, {key: value}, source)]; env: for the peers' runs);
    one section per comparison."""
    groups = [c.group for c, _, _ in greens]
    columns, problems = {}, {}
    for peer in PEERS:
        mine = [g for g in groups if g in peer.about]
        if not mine:
            continue
        figures, problem = run_peer(peer, mine, env)
        if figures:
            columns[peer.name] = figures
        problems[peer.name] = problem
    sections = []
    for comparison, green, source in greens:
        notes = []
        for peer in PEERS:
            if comparison.group not in peer.about or peer.name not in problems:
                continue
            problem = problems[peer.name]
            if any(comparison.owns(k) for k in columns.get(peer.name, {})):
                notes.append(f"- {peer.name}: {peer.about[comparison.group]}"
                             + (f". But {problem}" if problem else ""))
            else:
                notes.append(f"- {peer.name}: {problem or 'it printed no figures'}")
        text = (f"green: {source}. The ratio is how far ahead green is (above 1: green is ahead): "
                "peer / green for times, sizes and latencies, green / peer for rates. "
                "One run of each, on this machine.\n\n" + comparison_table(comparison, green, columns)
                + "\n\n" + "\n".join(notes))
        drawn = comparison_plots(comparison, green, columns, REPORT.parent)
        if drawn:
            text += "\n\n" + drawn
        print(f"\n== green vs peers: {comparison.title}\n\n{text}", flush=True)
        sections.append(f"## Peers: {comparison.title}\n\n" + text)
    return sections


def main():
    p = argparse.ArgumentParser(prog="python -m grader.bench", description=__doc__.split("\n\n")[1])
    p.add_argument("--stage", action="append", choices=stages.STAGES,
                   help="a stage whose programs to run (repeatable; default: every present stage)")
    args = p.parse_args()
    context = stages.env_setting("CONTEXT", "asm", stages.CONTEXTS)
    todo = [s for s in stages.STAGES
            if (not args.stage or s in args.stage) and stages.is_present(s) and own_programs(s)]
    if not todo:
        print("grader.bench: no bench programs in the selected present stages")

    sections, ok, greens, env = [], True, {}, {}
    for stage in todo:
        stage_parts, stage_ok, results = stage_sections(stage, context)
        sections += stage_parts
        ok = ok and stage_ok
        for comparison in COMPARISONS:  # green's column: the latest stage's program
            if comparison.program in results:
                greens[comparison.title] = (comparison, green_figures(results[comparison.program],
                                                                      comparison.workloads),
                                            f"bench/{comparison.program} of {stage}")
        if {"echo", "http"} & results.keys():  # the servers' peers measure with these
            env["GREEN_IO_BENCH"] = str(stages.build_dir(stage, "release", context) / "bench")
    # The peers meet the runtime as released: a comparison whose program belongs
    # to an earlier stage (runtime.cpp is stage 3's) runs it again on the latest
    # stage's build, which has every earlier program, preemption and the event
    # sources included. The earlier stage's own section keeps its own figures.
    latest = todo[-1] if todo else None
    for title, (comparison, _, source) in list(greens.items()):
        if source.endswith(f" of {latest}"):
            continue
        print(f"\n== {latest}: bench/{comparison.program} (for the peers)", flush=True)
        bench, problem = perf.run_program(stages.build_dir(latest, "release", context) / "bench"
                                          / comparison.program, (), stream=True)
        if bench:
            greens[title] = (comparison, green_figures(bench, comparison.workloads),
                             f"bench/{comparison.program} of {latest}")
        else:
            print(f"(the peers compare with {source}: on {latest}'s build it {problem})")
    if greens:  # peers never fail the run: they are for comparison
        sections += peers_sections(list(greens.values()), env)
    else:
        print("\n(peers not run: no stage of this run has a bench program they compare with: "
              + ", ".join(f"bench/{c.program}" for c in COMPARISONS) + ")")

    REPORT.parent.mkdir(parents=True, exist_ok=True)
    heading = f"# green benchmarks\n\nrelease build, CONTEXT={context}, " \
              f"{datetime.datetime.now():%Y-%m-%d %H:%M}"
    REPORT.write_text("\n\n".join([heading, *sections]) + "\n")
    print(f"\nwrote {REPORT.relative_to(stages.ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
