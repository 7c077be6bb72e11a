#!/bin/sh
# mk/python.sh ARGS...: run ARGS with the first Python that can import pytest,
# looked up now (when a recipe runs, after `make deps` may have installed it),
# not when the Makefile is parsed.
#
# Debian's python3-pytest installs for the system interpreter (/usr/bin/python3,
# or $GREEN_SYSTEM_PYTHON), which may not be the python3 first on PATH (pyenv,
# venvs): try it first.
for py in "${GREEN_SYSTEM_PYTHON:-/usr/bin/python3}" "$(command -v python3)"; do
  if [ -n "$py" ] && [ -x "$py" ] && "$py" -c 'import pytest' 2>/dev/null; then
    exec "$py" "$@"
  fi
done
echo "mk/python.sh: no python3 with pytest (tried ${GREEN_SYSTEM_PYTHON:-/usr/bin/python3} and python3 on PATH); run: sudo apt-get install -y python3-pytest (or make deps as root)" >&2
exit 1
