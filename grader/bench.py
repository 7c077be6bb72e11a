"""python -m grader.bench [--stage S]: `make bench`.

Builds each selected present stage in release mode (of $CONTEXT), runs the
bench programs that stage adds (<stage>/bench/*.cpp, against that stage's
runtime), shows their output, and writes build/bench/report.md: one table per
program with each benchmark's times and counters. Then it builds and runs the
peer programs (grader/peers/: Go, Boost.Fiber, oneTBB) whose packages are
installed, on the workloads of bench/runtime, and tables them next to green's.
"""

import argparse
import datetime
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import perf, proc, report, stages

REPORT = stages.ROOT / "build" / "bench" / "report.md"
# Fields of a Google Benchmark JSON entry that are not user counters.
STANDARD_FIELDS = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type",
    "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time",
    "time_unit", "aggregate_name", "aggregate_unit", "label", "error_occurred", "error_message",
}

PEER_DIR = stages.ROOT / "build" / "bench" / "peers"
CXX = ("g++", "-O2", "-std=c++20")


@dataclass(frozen=True)
class Peer:
    """A program running the workloads of bench/runtime in another runtime
    (grader/peers/). It prints one line per figure, e.g.
    `peer=go bench=fib_fine workers=2 value=0.91 unit=s`."""
    name: str        # its column in the table; its lines' peer=; its binary in PEER_DIR
    package: str     # the Debian package it needs
    needs: str       # a command or a file that is there when the package is installed
    build: tuple     # the command building PEER_DIR/<name>, run from the repo root
    about: str       # how it runs the workloads, for the report
    env: dict = field(default_factory=dict)  # for the build

    def installed(self):
        return bool(shutil.which(self.needs)) or Path(self.needs).exists()


# The programs `make bench` compares green with, where their packages are installed.
PEERS = (
    Peer("go", "golang-go", "go",
         ("go", "build", "-o", PEER_DIR / "go", "grader/peers/go/bench.go"),
         "goroutines and sync.WaitGroup; workers = GOMAXPROCS (spawn+join: one per CPU); "
         "yield: runtime.Gosched",
         # Standard library only, so nothing to download; Go's caches stay in build/.
         env={"GOCACHE": str(PEER_DIR / "go-cache"), "GOPATH": str(PEER_DIR / "go-path")}),
    Peer("boost_fiber", "libboost-fiber-dev", "/usr/include/boost/fiber/all.hpp",
         (*CXX, "-o", PEER_DIR / "boost_fiber", "grader/peers/boost_fiber_bench.cpp",
          "-lboost_fiber", "-lboost_context"),
         "fibers on 16 KiB fixedsize_stacks; 1 worker: the default round_robin on one thread; "
         "2 workers and spawn+join: algo::work_stealing on 2 threads; fib(25), not fib(32): its "
         "FIFO schedulers keep nearly the whole call tree alive (fib(32) would need ~70 GB)"),
    Peer("tbb", "libtbb-dev", "/usr/include/oneapi/tbb/task_group.h",
         (*CXX, "-o", PEER_DIR / "tbb", "grader/peers/tbb_bench.cpp", "-ltbb"),
         "tbb::task_group; workers = a task_arena of that many threads (spawn+join: the "
         "default arena, one thread per CPU); oneTBB has no yield"),
)

# The workloads compared: (row, green's benchmark in bench/runtime and its
# counter, the key of the peers' line: what it says besides peer, value and unit).
WORKLOADS = (
    *((f"spawn+join N={n:,} (ns/task)", f"BM_SpawnJoin/{n}", "ns_per_task", f"spawn_join n={n}")
      for n in (1_000, 10_000, 100_000, 1_000_000)),
    ("fib(32) fine, 1 worker (s)", "BM_FibFine/1", "seconds", "fib_fine workers=1"),
    ("fib(32) fine, 2 workers (s)", "BM_FibFine/2", "seconds", "fib_fine workers=2"),
    ("yield, 1 worker (ns/yield)", "BM_YieldRuntime/1", "ns_per_yield", "yield workers=1"),
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


def green_figures(bench):
    """{workload key: green's figure} from bench/runtime's results."""
    figures = {}
    for b in bench.data.get("benchmarks", []):
        name = "/".join(b["name"].split("/")[:2])  # BM_FibFine/2/iterations:1/real_time
        for _, benchmark, counter, key in WORKLOADS:
            if name == benchmark and counter in b:
                figures[key] = b[counter]
    return figures


def parse_peer_line(line):
    """`peer=go bench=fib_fine workers=2 value=0.91 unit=s` -> ("go", "fib_fine workers=2", 0.91, "s")."""
    fields = dict(re.findall(r"(\w+)=(\S+)", line))
    if not {"peer", "bench", "value"} <= fields.keys():
        return None
    params = " ".join(f"{k}={v}" for k, v in fields.items() if k not in ("peer", "bench", "value", "unit"))
    return fields["peer"], f"{fields['bench']} {params}".strip(), float(fields["value"]), fields.get("unit", "")


def run_peer(peer):
    """Build and run one peer; returns ({key: (value, unit)}, what went wrong or "")."""
    if not peer.installed():
        return {}, f"not installed (apt-get install {peer.package})"
    print(f"\n== peer {peer.name}: building", flush=True)
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    build = proc.run(peer.build, proc.timeout(stages.BUILD_TIMEOUT), env=peer.env,
                     cwd=stages.ROOT, limit_output=False)
    if not build.ok:
        return {}, f"building it {build.describe()}:\n```\n{build.tail(20)}\n```"
    print(f"== peer {peer.name}: running", flush=True)
    run = proc.run([PEER_DIR / peer.name], proc.timeout(perf.BENCH_TIMEOUT), cwd=stages.ROOT)
    print(run.output, end="", flush=True)
    figures = {}
    for parsed in map(parse_peer_line, run.output.splitlines()):
        if parsed and parsed[0] == peer.name:
            figures[parsed[1]] = parsed[2:]
    problem = "" if run.ok else f"it {run.describe()}:\n```\n{run.tail(20)}\n```"
    return figures, problem


def peers_section(green, source):
    """Run the peers; one table of green's figures ({key: value}) and theirs."""
    columns, notes = {}, []
    for peer in PEERS:
        figures, problem = run_peer(peer)
        if figures:
            columns[peer.name] = figures
            notes.append(f"- {peer.name}: {peer.about}" + (f". But {problem}" if problem else ""))
        else:
            notes.append(f"- {peer.name}: {problem or 'it printed no figures'}")
    # The common workloads, then what a peer runs instead (boost_fiber's fib(25)).
    rows = [(row, key) for row, _, _, key in WORKLOADS]
    known = {key for _, key in rows}
    for figures in columns.values():
        rows += [(f"{key} ({unit})", key) for key, (_, unit) in figures.items() if key not in known]
        known |= figures.keys()

    def cell(x):
        return "—" if x is None else f"{x:.4g}"

    lines = ["| workload | green |" + "".join(f" {p} | {p}/green |" for p in columns),
             "|---|---:|" + "---:|---:|" * len(columns)]
    for row, key in rows:
        ours = green.get(key)
        cells = [row, cell(ours)]
        for figures in columns.values():
            theirs = figures.get(key, (None,))[0]
            cells += [cell(theirs), f"{theirs / ours:.3g}x" if theirs is not None and ours else "—"]
        lines.append("| " + " | ".join(cells) + " |")
    text = (f"green: {source}. Ratio = peer / green (above 1: green is faster). "
            "One run of each, on this machine.\n\n" + "\n".join(lines) + "\n\n" + "\n".join(notes))
    print(f"\n== green vs peers\n\n{text}", flush=True)
    return "## Peers\n\n" + text


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

    sections, ok, green, green_source = [], True, None, ""
    for stage in todo:
        stage_parts, stage_ok, results = stage_sections(stage, context)
        sections += stage_parts
        ok = ok and stage_ok
        if "runtime" in results:  # green's column: the latest stage's bench/runtime
            green, green_source = green_figures(results["runtime"]), f"bench/runtime of {stage}"
    if green is not None:  # peers never fail the run: they are for comparison
        sections.append(peers_section(green, green_source))
    else:
        print("\n(peers not run: no stage of this run has a bench/runtime to compare them with)")

    REPORT.parent.mkdir(parents=True, exist_ok=True)
    heading = f"# green benchmarks\n\nrelease build, CONTEXT={context}, " \
              f"{datetime.datetime.now():%Y-%m-%d %H:%M}"
    REPORT.write_text("\n\n".join([heading, *sections]) + "\n")
    print(f"\nwrote {REPORT.relative_to(stages.ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
