"""The repository as the grader sees it: the stage order, which stages are
present, where a stage's build lands and how to build it. All of it follows
mk/config.mk and mk/stage.mk (DESIGN.md sections 2 and 6)."""

import os
import re
from pathlib import Path, PurePosixPath

from . import proc

ROOT = Path(__file__).resolve().parent.parent
MODES = ("release", "debug", "asan", "tsan")
CONTEXTS = ("asm", "ucontext")
BUILD_TIMEOUT = 1800  # seconds, for one stage


def _stage_order():
    """The STAGES list of mk/config.mk (the overlay order), read so that it is
    written in one place only."""
    text = (ROOT / "mk" / "config.mk").read_text()
    match = re.search(r"^STAGES\s*:=((?:.*\\\n)*.*)$", text, re.MULTILINE)
    return match.group(1).replace("\\\n", " ").split()


STAGES = _stage_order()


def is_present(stage):
    """A stage is graded once its src/ or tests/ holds something (as in config.mk)."""
    return any(any((ROOT / stage / sub).glob("*")) for sub in ("src", "tests"))


def present_stages():
    return [s for s in STAGES if is_present(s)]


def upto(stage):
    """The stages whose files a stage's build holds: it and those before it."""
    return STAGES[:STAGES.index(stage) + 1]


def source_path(path):
    """A source file's path from the repository root, whatever root the build
    saw ("/x/green/stage2_queues/tests/a.cpp" -> "stage2_queues/tests/a.cpp"),
    or "" if it is not in a stage. Matched on the stage directory, not on ROOT,
    so that a tree built elsewhere (or through a symlink) still matches."""
    parts = PurePosixPath(path).parts
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] in STAGES:
            return "/".join(parts[i:])
    return ""


def env_setting(name, default, choices):
    """A setting from the environment: MODE or CONTEXT (the Makefile exports
    them), GREEN_SECRET_VISIBILITY (make passes on what its command line sets)."""
    value = os.environ.get(name, "").strip() or default
    if value not in choices:
        raise SystemExit(f"grader: {name} must be one of {', '.join(choices)} (got {value!r})")
    return value


def build_dir(stage, mode, context):
    """build/<mode>/<stage>, or build/<mode>-ucontext/<stage>."""
    tag = mode if context == "asm" else f"{mode}-{context}"
    return ROOT / "build" / tag / stage


def build(stage, mode, context):
    """Build one stage (library, green_tests, bench programs); returns a proc.Run."""
    # The build is self-contained: drop the flags of a make that may have started
    # us (`make test MODE=asan` would otherwise override MODE=release below).
    env = {"MAKEFLAGS": None, "MFLAGS": None, "MAKELEVEL": None}
    return proc.run(
        ["make", "--no-print-directory", f"-j{os.cpu_count() or 1}", "-f", "mk/stage.mk",
         f"STAGE={stage}", f"MODE={mode}", f"CONTEXT={context}", "all"],
        timeout=proc.timeout(BUILD_TIMEOUT), env=env, cwd=ROOT, limit_output=False)
