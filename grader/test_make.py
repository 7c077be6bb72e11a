"""The README's commands on a fresh machine, simulated: `make test` must find
pytest's interpreter after its deps step has installed python3-pytest, not
when the Makefile is parsed (issue 10, item 1).

Hermetic: make runs in a copy of the Makefile and mk/ only (so a real
interpreter, if one is found, grades nothing), with fake `id`, `dpkg-query`,
`apt-get` and interpreters first on PATH; "installing" python3-pytest creates a marker file that gives the fake
system interpreter its pytest. The python3 on PATH never has it (as a pyenv
3.11 without pytest). The fake interpreters log how they were run."""

import os
import shutil
import subprocess

from grader import stages

FAKES = {
    "id": 'echo "$FAKE_UID"',
    # deps asks for each package's ${Status}: only python3-pytest is missing, until installed.
    "dpkg-query": 'for p; do :; done\n'
                  '[ "$p" = python3-pytest ] && [ ! -e "$FAKE/pytest" ] && exit 1\n'
                  'echo "install ok installed"',
    "apt-get": 'case " $* " in *" install "*python3-pytest*) touch "$FAKE/pytest";; esac',
}
# An interpreter: `-c 'import pytest'` succeeds when HAS_PYTEST does; anything else is logged.
INTERPRETER = ('if [ "$1" = -c ]; then HAS_PYTEST; exit; fi\n'
               'echo "$0 $*" >> "$FAKE/ran"')


def fake_machine(tmp_path, uid):
    """A PATH and environment for make, as on a fresh machine as `uid`; the
    build system copied there."""
    shutil.copy(stages.ROOT / "Makefile", tmp_path)
    shutil.copytree(stages.ROOT / "mk", tmp_path / "mk")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {**FAKES,
               "python3": INTERPRETER.replace("HAS_PYTEST", "false"),
               "system-python3": INTERPRETER.replace("HAS_PYTEST", '[ -e "$FAKE/pytest" ]')}
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env.update(PATH=f"{bin_dir}:{os.environ['PATH']}", FAKE=str(tmp_path), FAKE_UID=str(uid),
               GREEN_SYSTEM_PYTHON=str(bin_dir / "system-python3"))
    return env


def make(target, env):
    return subprocess.run(["make", "--no-print-directory", "-C", env["FAKE"], target], env=env,
                          capture_output=True, text=True, timeout=30)


def test_make_test_installs_pytest_and_runs_it_on_the_first_try(tmp_path):
    run = make("test", fake_machine(tmp_path, uid=0))
    assert run.returncode == 0, run.stdout + run.stderr
    ran = (tmp_path / "ran").read_text()
    assert ran == f"{tmp_path}/bin/system-python3 -m pytest grader -q -rfE --durations=15\n"


def test_as_a_user_make_test_prints_the_apt_get_line_and_stops(tmp_path):
    run = make("test", fake_machine(tmp_path, uid=1000))
    assert run.returncode != 0
    assert "sudo apt-get install -y python3-pytest" in run.stdout
    assert not (tmp_path / "ran").exists()


def test_without_pytest_the_lookup_says_what_to_install(tmp_path):
    run = subprocess.run([tmp_path / "mk" / "python.sh", "-m", "pytest"],
                         env=fake_machine(tmp_path, uid=0), capture_output=True, text=True)
    assert run.returncode != 0
    assert run.stderr.count("\n") == 1 and "apt-get install -y python3-pytest" in run.stderr
    assert not (tmp_path / "ran").exists()
