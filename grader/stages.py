"""The repository as the grader sees it: the stage order, which stages are
present, where a stage's build lands and how to build it. All of it follows
mk/config.mk and mk/stage.mk (DESIGN.md sections 2 and 6)."""

import os
import re
from pathlib import Path

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


def env_setting(name, default, choices):
    """MODE or CONTEXT from the environment (the Makefile exports them)."""
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
