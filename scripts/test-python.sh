#!/bin/sh
# Builds the Python binding from this checkout into a fresh virtual
# environment (pip install . at the repository root, as a user would), then
# runs the pytest suite in tests/python against the INSTALLED package.
#
#   scripts/test-python.sh [pytest arguments...]
#
# Environment: PYTHON (default python3), MWS_PY_VENV (default: a temporary
# directory, removed at the end), MWS_PY_BUILD_DIR (keep CMake's build tree
# there to rebuild faster; default: a temporary one).
# Needs: cmake, a C compiler, libwebsockets-dev libmsgpack-dev libcjson-dev,
# and access to the Python package index (scikit-build-core, cffi, pytest,
# websockets, msgpack).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
venv=${MWS_PY_VENV:-$tmp/venv}

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
build_args=""
if [ -n "${MWS_PY_BUILD_DIR:-}" ]; then
	build_args="-C build-dir=$MWS_PY_BUILD_DIR"
fi
# shellcheck disable=SC2086
"$venv/bin/python" -m pip install -q $build_args "$here" pytest websockets msgpack

# Run from outside the checkout so that nothing but the installed package
# can be imported as managedws (conftest.py also checks it).
cd "$tmp"
exec_status=0
"$venv/bin/python" -m pytest -c "$here/pyproject.toml" --rootdir "$here" "$here/tests/python" "$@" || exec_status=$?
exit $exec_status
