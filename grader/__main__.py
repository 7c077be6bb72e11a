"""python -m grader [--stage S ...] [--mode M] [--context C]
                   [--checks tests,perf,valgrind] [--json FILE [--secret-visibility V]]

Grades each selected present stage in overlay order: builds it, runs its tests,
perf checks and Valgrind smoke test, prints each result, then the scoreboard.
Exits 0 only if everything graded passed.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from . import report, stages
from .grade import Grader
from .results import KINDS


def parse_args():
    p = argparse.ArgumentParser(prog="python -m grader", description=__doc__.split("\n\n")[1])
    p.add_argument("--stage", action="append", choices=stages.STAGES,
                   help="a stage to grade (repeatable; default: every present stage)")
    p.add_argument("--mode", choices=stages.MODES,
                   default=stages.env_setting("MODE", "release", stages.MODES),
                   help="build mode (default: $MODE or release)")
    p.add_argument("--context", choices=stages.CONTEXTS,
                   default=stages.env_setting("CONTEXT", "asm", stages.CONTEXTS),
                   help="context-switch backend (default: $CONTEXT or asm)")
    p.add_argument("--checks", default=",".join(KINDS),
                   help=f"comma-separated checks to run (default: {','.join(KINDS)})")
    p.add_argument("--json", type=Path, metavar="FILE", help="write Gradescope's results.json")
    p.add_argument("--secret-visibility", choices=report.SECRET_VISIBILITIES,
                   default=stages.env_setting("GREEN_SECRET_VISIBILITY", "after_due_date",
                                              report.SECRET_VISIBILITIES),
                   help="when Gradescope shows students the instructor-held tests (mk/manifest's "
                        "`grader` files) and what names them (default: "
                        "$GREEN_SECRET_VISIBILITY or after_due_date)")
    args = p.parse_args()
    checks = set(args.checks.split(","))
    if not checks <= set(KINDS):
        unknown = ", ".join(sorted(checks - set(KINDS)))
        p.error(f"--checks: unknown {unknown}; use {','.join(KINDS)}")
    args.checks = [k for k in KINDS if k in checks]
    return args


def main():
    args = parse_args()
    transcript = []

    def say(text=""):
        print(text, flush=True)
        transcript.append(text)

    selected = [s for s in stages.STAGES if not args.stage or s in args.stage]  # overlay order
    absent = [s for s in selected if not stages.is_present(s)]
    if args.stage and absent:
        say(f"not present (no src/ or tests/ files), not graded: {', '.join(absent)}")
    todo = [s for s in selected if s not in absent]
    if not todo:
        say("grader: no stage to grade")
        return 1

    grader = Grader(args.mode, args.context)
    started = time.monotonic()
    for stage in todo:
        say(f"\n== {stage} (MODE={args.mode} CONTEXT={args.context})")
        t0 = time.monotonic()
        result = grader.build(stage)
        say(report.build_report(result) + f" ({time.monotonic() - t0:.0f} s)")
        for kind in args.checks:
            t0 = time.monotonic()
            comp = grader.component(stage, kind)
            if result.built or comp.skipped:
                say(report.component_report(comp))
                say(f"  ({kind}: {time.monotonic() - t0:.0f} s)")
    say(f"\ngraded in {time.monotonic() - started:.0f} s")

    results = list(grader.results.values())
    say("\n" + report.scoreboard(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        results_json = report.gradescope(results, "\n".join(transcript), args.secret_visibility)
        args.json.write_text(json.dumps(results_json, indent=2, allow_nan=False))
        print(f"wrote {args.json}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
