"""Running a submission's programs without ever getting stuck or crashing.

Every program runs in its own process group, so that on a timeout the whole
group (forked children, death-test children, Valgrind's tool) is killed. Its
stdout and stderr go, merged, to an anonymous temporary file whose size is
capped, so a program printing in a loop cannot fill the disk or the memory.
"""

import os
import resource
import signal
import subprocess
import tempfile
from dataclasses import dataclass

# A program writing more than this (to its output or any file) gets SIGXFSZ.
OUTPUT_LIMIT = 64 << 20

# How much slower each build mode runs than release: timeouts scale with it.
MODE_SLOWDOWN = {"release": 1, "debug": 2, "asan": 3, "tsan": 5}


def timeout(seconds, mode="release"):
    """seconds, scaled for MODE and by env GREEN_GRADER_TIMEOUT_SCALE (default 1;
    e.g. 3 on a slow machine, or 0.01 to test the grader's own timeout handling)."""
    scale = float(os.environ.get("GREEN_GRADER_TIMEOUT_SCALE", "1"))
    return seconds * MODE_SLOWDOWN[mode] * scale


@dataclass
class Run:
    """How one program run ended, and what it printed."""
    returncode: int | None   # None: timed out, or could not be started
    output: str              # stdout and stderr, merged ("" when streamed)
    timed_out: bool = False
    timeout: float = 0.0
    error: str = ""          # why it could not be started

    @property
    def ok(self):
        return self.returncode == 0

    def describe(self):
        """How the program ended, in a few words."""
        if self.error:
            return f"could not be run: {self.error}"
        if self.timed_out:
            return f"timed out after {self.timeout:g} s"
        if self.returncode < 0:
            return f"was killed by {signal.Signals(-self.returncode).name}"
        return f"exited with code {self.returncode}"

    def tail(self, lines=40):
        """The last lines of the output."""
        return "\n".join(self.output.rstrip().splitlines()[-lines:])


def _limit_output():
    # Runs in the child, between fork and exec.
    resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_LIMIT, OUTPUT_LIMIT))


def run(cmd, timeout, env=None, cwd=None, stream=False, limit_output=True):
    """Run cmd (a list) for at most `timeout` seconds and return a Run.

    env: variables added to the grader's environment (None: removed). stream: let the output go
    to the terminal instead of capturing it. limit_output: cap the size of the
    files the program writes (off for the compiler, which writes big binaries).
    """
    cmd = [str(c) for c in cmd]
    env = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(
                cmd, cwd=cwd, env=env,
                stdin=subprocess.DEVNULL,
                stdout=None if stream else out, stderr=None if stream else subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_limit_output if limit_output else None)
        except OSError as e:
            return Run(None, "", error=f"{cmd[0]}: {e.strerror}")
        try:
            returncode, timed_out = proc.wait(timeout), False
        except subprocess.TimeoutExpired:
            returncode, timed_out = None, True
        # Kill the group: the program on a timeout, and any child left behind.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        out.seek(0)
        output = out.read().decode(errors="replace")
    return Run(returncode, output, timed_out, timeout)
