"""python -m grader.bench [--stage S]: `make bench`.

Builds each selected present stage in release mode (of $CONTEXT), runs the
bench programs that stage adds (<stage>/bench/*.cpp, against that stage's
runtime), shows their output, and writes build/bench/report.md: one table per
program with each benchmark's times and counters.
"""

import argparse
import datetime
import shutil
import sys
from dataclasses import dataclass

from . import perf, proc, report, stages

REPORT = stages.ROOT / "build" / "bench" / "report.md"
# Fields of a Google Benchmark JSON entry that are not user counters.
STANDARD_FIELDS = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type",
    "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time",
    "time_unit", "aggregate_name", "aggregate_unit", "label", "error_occurred", "error_message",
}


@dataclass(frozen=True)
class Peer:
    """A program measuring the same thing in another runtime, for comparison.
    It must accept --benchmark_out=FILE --benchmark_out_format=json and write
    Google Benchmark's JSON there (Google Benchmark programs do)."""
    name: str        # the report's heading, e.g. "Go: goroutine switch"
    needs: str       # the tool it needs (e.g. "go"); left out when not installed
    build: tuple     # command building it, run from the repo root
    binary: str      # the program it builds, relative to the repo root


# The peer programs (Go, Boost.Fiber, oneTBB) that `make bench` compares green
# with. None are written yet: this is where they go.
PEERS = ()


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
    """Build a stage and run its own programs; returns (report sections, all ran)."""
    print(f"\n== {stage}: building (release, CONTEXT={context})", flush=True)
    build = stages.build(stage, "release", context)
    if not build.ok:
        print(f"build {build.describe()}:\n{build.tail(report.BUILD_LINES)}")
        return [f"## {stage}\n\nThe stage did not build."], False
    sections, ok = [], True
    for name in own_programs(stage):
        print(f"\n== {stage}: bench/{name}", flush=True)
        binary = stages.build_dir(stage, "release", context) / "bench" / name
        bench, problem = perf.run_program(binary, (), stream=True)
        sections.append(f"## {stage}: {name}\n\n" + (table(bench) if bench else problem))
        ok = ok and bench is not None
    return sections, ok


def peer_section(peer):
    """Build and run one peer program; returns its report section."""
    if not shutil.which(peer.needs):
        return f"## {peer.name}\n\nNot run: `{peer.needs}` is not installed."
    print(f"\n== peer: {peer.name}", flush=True)
    build = proc.run(peer.build, proc.timeout(stages.BUILD_TIMEOUT), cwd=stages.ROOT,
                     stream=True, limit_output=False)
    if not build.ok:
        return f"## {peer.name}\n\nBuilding it {build.describe()}."
    bench, problem = perf.run_program(stages.ROOT / peer.binary, (), stream=True)
    return f"## {peer.name}\n\n" + (table(bench) if bench else problem)


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

    sections, ok = [], True
    for stage in todo:
        stage_parts, stage_ok = stage_sections(stage, context)
        sections += stage_parts
        ok = ok and stage_ok
    sections += [peer_section(peer) for peer in PEERS]

    REPORT.parent.mkdir(parents=True, exist_ok=True)
    heading = f"# green benchmarks\n\nrelease build, CONTEXT={context}, " \
              f"{datetime.datetime.now():%Y-%m-%d %H:%M}"
    REPORT.write_text("\n\n".join([heading, *sections]) + "\n")
    print(f"\nwrote {REPORT.relative_to(stages.ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
