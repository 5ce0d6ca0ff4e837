#!/usr/bin/env bash
# Tests the Python client (clients/python) as a user gets it: installs it into a fresh venv,
# offline, and runs its tests against the built orchlog binaries.
#
#   scripts/test-python.sh            # from anywhere; ORCHLOG_BIN_DIR defaults to ./.build/debug
#   ORCHLOG_BIN_DIR=/path/to/bin scripts/test-python.sh [PYTEST ARGS...]
#
# Needs python3 with venv and setuptools (Debian: python3-venv, python3-setuptools) and
# pytest: taken from the system (python3-pytest) when there, else installed from PyPI into
# the venv. Exit 0 all tests passed; 1 a test failed or none ran; 2 setup.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export ORCHLOG_BIN_DIR="${ORCHLOG_BIN_DIR:-$root/.build/debug}"

# An interpreter that can build the package offline: setuptools, plus `wheel` for a
# setuptools older than 70.1 (which has no bdist_wheel of its own). $PYTHON if given, else
# the first of python3 on PATH and Debian's /usr/bin/python3 (python3-setuptools,
# python3-wheel) that can.
can_build='import setuptools, importlib.util as u, sys
sys.exit(0 if u.find_spec("wheel") or u.find_spec("setuptools.command.bdist_wheel") else 1)'
python=""
for candidate in ${PYTHON:-python3 /usr/bin/python3}; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "$can_build" 2>/dev/null; then
        python="$candidate"
        break
    fi
done
if [[ -z "$python" ]]; then
    echo "test-python: no python3 with setuptools and wheel to build the package offline" \
         "(apt-get install python3-venv python3-setuptools python3-wheel, or set PYTHON)" >&2
    exit 2
fi

if [[ ! -x "$ORCHLOG_BIN_DIR/orchlog" ]]; then
    echo "test-python: $ORCHLOG_BIN_DIR/orchlog not found: build orchlog (swift build) or set ORCHLOG_BIN_DIR" >&2
    exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/orchlog-python.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# --system-site-packages: the venv sees the system's setuptools (for the offline build
# below) and pytest; the package itself is installed into the venv, which comes first.
"$python" -m venv --system-site-packages "$work/venv"
venv_python="$work/venv/bin/python"
# Built from a copy: an in-tree setuptools build leaves build/ and *.egg-info behind.
mkdir "$work/pkg"
cp -R "$root/clients/python/pyproject.toml" "$root/clients/python/README.md" "$root/clients/python/src" "$work/pkg/"
find "$work/pkg" \( -name build -o -name '*.egg-info' -o -name __pycache__ \) -prune -exec rm -rf {} +
"$venv_python" -m pip install --quiet --no-index --no-build-isolation "$work/pkg"
if ! "$venv_python" -c 'import pytest' 2>/dev/null; then
    "$venv_python" -m pip install --quiet pytest
fi

# The tests must run the installed package, not the source tree: run from an empty
# directory; pytest puts the test directory (for conftest) on sys.path, never src/.
cd "$work"
installed="$("$venv_python" -c 'import orchlog; print(orchlog.__file__)')"
case "$installed" in
    "$work"/venv/*) ;;
    *) echo "test-python: orchlog imports from $installed, not the venv" >&2; exit 1 ;;
esac
echo "test-python: orchlog $("$venv_python" -c 'import orchlog; print(orchlog.__version__)') from $installed" \
     "(python $("$venv_python" -c 'import platform; print(platform.python_version())'))"

status=0
ORCHLOG_EXPECT_INSTALLED="$work/venv" PYTHONDONTWRITEBYTECODE=1 "$venv_python" -m pytest -p no:cacheprovider \
    --rootdir "$root/clients/python" "$root/clients/python/tests" "$@" || status=$?
if (( status == 5 )); then
    echo "test-python: no tests were collected" >&2
    exit 1
fi
exit "$status"
