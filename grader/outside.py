"""Commands a user runs outside the repository (make install, pkg-config,
g++, cmake, gdb), for the tests that act as that user (test_install.py,
test_gdb.py): run without make's jobserver variables, and fail with what the
command printed."""

import os
import subprocess


def env():
    """The environment, less what a surrounding make passes down."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def run(cmd, what, timeout, **kw):
    """Runs cmd; fails the test, naming `what`, unless it exits 0. Returns its
    standard output (and, with both=True, its standard error after it)."""
    both = kw.pop("both", False)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=kw.pop("env", env()), **kw)
    assert done.returncode == 0, (f"{what} failed (exit {done.returncode}): {' '.join(map(str, cmd))}\n"
                                  f"{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done.stdout + (done.stderr if both else "")
