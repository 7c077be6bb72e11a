#!/usr/bin/env python3
"""Solution markers, and the trees `make flatten` and `make starter` write.

Standard library only; runs with /usr/bin/python3 (3.8 or later), no pytest.

The marker convention (DEVELOPERS.md, HANDOUT 1.4). In the reference sources
(C++ and .S files alike: .S files go through the C preprocessor, so `//`
comments work there too) a solution region is

        // BEGIN SOLUTION
        ...the reference code...
        // STUB: (void)tail_seen;
        // STUB: unimplemented("stage 2: RingQueue::pop is yours to write");
        // END SOLUTION

Each marker is a line of its own: optional indentation, then exactly
`// BEGIN SOLUTION`, `// END SOLUTION` or `// STUB: <code>`. STUB lines are
optional and come last in the region, just before END SOLUTION. Two ways out:

  keep  (make flatten; the stages before the student's in make starter):
        the marker lines and STUB lines go, the reference code stays.
  stub  (the student's own stage in make starter): the region becomes its STUB
        lines with `// STUB: ` removed (the indentation before `//` kept), or
        nothing if it has none.

Errors, as file:line: a region opened inside another (nested), END without
BEGIN, a BEGIN never closed, a STUB outside a region, reference code after a
STUB line, and any other line naming a marker (`//BEGIN SOLUTION`, `// STUB
foo`, ...), so a typo never leaks a solution.

The manifest (mk/manifest) says who receives each file: `students` (starter
trees only), `grader` (held by the instructor's autograder: left out of
starter trees) or `both` (the default for a file it does not list).

Usage (the overlay order is STAGES in mk/config.mk):
    starter.py flatten --stage S --out DIR    the reference, markers stripped, as
                                              one directory S/: the merged overlay
    starter.py starter --stage S --out DIR    what a student at S receives: the
                                              repository's shape, the stages up to S
                                              each in its own directory
    starter.py check [ROOT]                   every marker in ROOT's stages balanced
    starter.py strip [--stub] FILE            one file, stripped, to stdout
"""

import argparse
import fnmatch
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = "mk/manifest"
AUDIENCES = ("students", "grader", "both")
# What a stage directory contributes to a tree (as `make flatten` always did).
SUBDIRS = ("include", "src", "tests", "bench", "examples")
# Copied whole to the top of every tree.
TOP = ("mk", "grader", "Makefile", "README.md", "DESIGN.md", "HANDOUT.md")

_BEGIN = re.compile(r"[ \t]*// BEGIN SOLUTION[ \t]*")
_END = re.compile(r"[ \t]*// END SOLUTION[ \t]*")
_STUB = re.compile(r"([ \t]*)// STUB:(?: (.*))?")
# Anything that looks like a marker but is not exactly one.
_NEAR = re.compile(r"\b(BEGIN|END)[ \t]+SOLUTION\b|//[ \t]*STUB\b")


class MarkerError(Exception):
    """A broken marker or manifest line; str() is "file:line: what"."""


def strip(text, path="<text>", stub=False):
    """`text` with its solution regions resolved: kept (markers removed) or,
    with stub=True, replaced by their STUB lines. Raises MarkerError."""
    out = []
    begin = None          # line number of the open region's BEGIN, or None
    stub_seen = False     # the open region has had a STUB line
    for n, line in enumerate(text.splitlines(keepends=True), 1):
        body = line.rstrip("\r\n")
        eol = line[len(body):]
        where = f"{path}:{n}"
        if _BEGIN.fullmatch(body):
            if begin is not None:
                raise MarkerError(f"{where}: nested BEGIN SOLUTION (the region opened at line "
                                  f"{begin} is not closed)")
            begin, stub_seen = n, False
        elif _END.fullmatch(body):
            if begin is None:
                raise MarkerError(f"{where}: END SOLUTION without a BEGIN SOLUTION")
            begin = None
        elif _STUB.fullmatch(body):
            if begin is None:
                raise MarkerError(f"{where}: STUB outside a BEGIN SOLUTION ... END SOLUTION region")
            stub_seen = True
            if stub:
                m = _STUB.fullmatch(body)
                code = m.group(2) or ""
                out.append((m.group(1) + code if code else "") + eol)
        elif _NEAR.search(body):
            raise MarkerError(f"{where}: malformed marker {body.strip()!r}: a marker is a line of "
                              f"its own, exactly '// BEGIN SOLUTION', '// END SOLUTION' or "
                              f"'// STUB: <code>'")
        elif begin is not None:
            if stub_seen:
                raise MarkerError(f"{where}: reference code after a STUB line: STUB lines come "
                                  f"last in a region, just before END SOLUTION")
            if not stub:
                out.append(line)
        else:
            out.append(line)
    if begin is not None:
        raise MarkerError(f"{path}:{begin}: BEGIN SOLUTION is never closed")
    return "".join(out)


def read_manifest(path):
    """[(audience, pattern, line)] from a manifest file. Lines: `<audience>
    <pattern>`; `#` starts a comment. Raises MarkerError."""
    entries = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 2 or words[0] not in AUDIENCES:
            raise MarkerError(f"{path}:{n}: expected '<audience> <pattern>' with audience one of "
                              f"{', '.join(AUDIENCES)}; got {line.strip()!r}")
        entries.append((words[0], words[1], n))
    return entries


def audience(rel, manifest):
    """Who receives the file at `rel` (a path from the repository root): the
    last manifest line whose glob matches it, else "both"."""
    who = "both"
    for aud, pattern, _ in manifest:
        if fnmatch.fnmatchcase(rel, pattern):
            who = aud
    return who


def overlay(root, sub, stages):
    """The overlay's files for `sub` as repository-relative paths, resolved by
    mk/overlay.sh (the one place the rule lives)."""
    run = subprocess.run([str(root / "mk" / "overlay.sh"), str(root), sub, *stages],
                         capture_output=True, text=True, check=True)
    return run.stdout.split()


def _resolve(src, mode):
    """src's bytes, its solution regions resolved per mode (None: verbatim)."""
    data = src.read_bytes()
    if mode is None:
        return data
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return data
    return strip(text, str(src), stub=(mode == "stub")).encode()


def make_tree(kind, stage, order, out, root=ROOT):
    """Write the flatten or starter tree of `stage` into `out` (see the module
    docstring); `order` is the overlay order. Returns the repository-relative
    paths held back for the autograder."""
    if stage not in order:
        raise MarkerError(f"unknown stage {stage!r}; one of: {' '.join(order)}")
    stages = order[:order.index(stage) + 1]
    out = Path(out)
    if kind == "starter" and out.exists() and any(out.iterdir()):
        # Writing over an old tree (a flattened one, say) could leave its solutions behind.
        raise MarkerError(f"{out} exists and is not empty; remove it or pick another OUT")
    if kind == "starter" and not (root / MANIFEST).is_file():
        raise MarkerError(f"no {MANIFEST}: make starter runs in the reference repository")
    manifest = read_manifest(root / MANIFEST) if kind == "starter" else []
    held = []
    plan = []   # (source, destination, bytes): all resolved before anything is written

    def wanted(rel):
        if audience(rel, manifest) == "grader":
            held.append(rel)
            return False
        return True

    if kind == "flatten":  # one directory: the merged overlay
        for sub in SUBDIRS:
            for rel in overlay(root, sub, stages):
                plan.append((root / rel, out / stage / rel.split("/", 1)[1], _resolve(root / rel, "keep")))
        for name in ("Makefile", "README.md"):
            plan.append((root / stage / name, out / stage / name, _resolve(root / stage / name, None)))
    else:  # the repository's shape, each stage its own directory, up to `stage`
        for s in stages:
            mode = "stub" if s == stage else "keep"
            for sub in SUBDIRS:
                for f in _files(root / s / sub):
                    rel = f.relative_to(root).as_posix()
                    if wanted(rel):
                        plan.append((f, out / rel, _resolve(f, mode)))
            for name in ("Makefile", "README.md"):
                if (root / s / name).is_file() and wanted(f"{s}/{name}"):
                    plan.append((root / s / name, out / s / name, _resolve(root / s / name, None)))
    for top in TOP:
        src = root / top
        files = sorted(p for p in src.rglob("*") if p.is_file()) if src.is_dir() else [src]
        for f in files:
            rel = f.relative_to(root).as_posix()
            if "__pycache__" in f.parts or ".pytest_cache" in f.parts or not wanted(rel):
                continue
            plan.append((f, out / rel, _resolve(f, None)))
    # A broken marker has raised by now, so a failed run writes nothing.
    for src, dst, data in plan:
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(data)
        shutil.copymode(src, dst)
    return held


def stage_order(root=ROOT):
    """STAGES of mk/config.mk, the overlay order (read as grader/stages.py does)."""
    text = (root / "mk" / "config.mk").read_text()
    match = re.search(r"^STAGES\s*:=((?:.*\\\n)*.*)$", text, re.MULTILINE)
    return match.group(1).replace("\\\n", " ").split()


def _files(top, skip=("build", ".git", "__pycache__", ".pytest_cache")):
    for d, dirs, names in os.walk(top):
        dirs[:] = sorted(x for x in dirs if x not in skip)
        yield from (Path(d) / n for n in sorted(names))


def check(root=ROOT):
    """Errors (strings) for every broken marker in the stages' sources (the
    files trees take) and in the manifest; [] when all is well."""
    errors = []
    for s in stage_order(root):
        for sub in SUBDIRS:
            for f in _files(root / s / sub):
                try:
                    strip(f.read_text(), f.relative_to(root).as_posix())
                except UnicodeDecodeError:
                    pass
                except MarkerError as e:
                    errors.append(str(e))
    if (root / MANIFEST).exists():
        files = [f.relative_to(root).as_posix() for f in _files(root)]
        try:
            for _, pattern, n in read_manifest(root / MANIFEST):
                if not any(fnmatch.fnmatchcase(f, pattern) for f in files):
                    errors.append(f"{MANIFEST}:{n}: '{pattern}' matches no file")
        except MarkerError as e:
            errors.append(str(e))
    return errors


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for kind in ("flatten", "starter"):
        t = sub.add_parser(kind)
        t.add_argument("--stage", required=True)
        t.add_argument("--out", required=True)
    c = sub.add_parser("check")
    c.add_argument("root", nargs="?", default=str(ROOT))
    s = sub.add_parser("strip")
    s.add_argument("--stub", action="store_true")
    s.add_argument("file")
    a = p.parse_args(argv)
    try:
        if a.cmd == "strip":
            sys.stdout.write(strip(Path(a.file).read_text(), a.file, stub=a.stub))
        elif a.cmd == "check":
            errors = check(Path(a.root).resolve())
            for e in errors:
                print(e, file=sys.stderr)
            return 1 if errors else 0
        else:
            held = make_tree(a.cmd, a.stage, stage_order(), a.out)
            what = "flattened" if a.cmd == "flatten" else "starter tree of"
            print(f"{what} {a.stage} into {a.out}")
            if held:
                print(f"held back for the autograder ({MANIFEST}): " + " ".join(sorted(held)))
    except MarkerError as e:
        print(f"starter.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
