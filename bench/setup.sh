#!/usr/bin/env bash
# Installs what only the benchmark needs (not the tests): a venv with
# matplotlib, websockets, picows and the managedws Python package built from
# this checkout; Node `ws` under bench/peers/node; the Go peers (gorilla);
# the node binding (npm ci in bindings/node); our C programs.
#   bench/setup.sh            idempotent; BENCH_VENV overrides bench/.venv
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
venv=${BENCH_VENV:-$here/.venv}
go=${GO:-/usr/local/go/bin/go}

if [ ! -x "$venv/bin/python" ]; then
	python3 -m venv "$venv"
	"$venv/bin/python" -m pip install -q --upgrade pip
fi
"$venv/bin/python" -m pip install -q matplotlib websockets 'picows==2.3.1'
# The binding as a user gets it: pip install . at the repository root.
# Reinstalled each setup so that the bench measures this checkout.
if [ "${BENCH_SKIP_BINDING:-0}" != 1 ]; then
	"$venv/bin/python" -m pip install -q --force-reinstall "$root" ||
		echo "setup: the Python binding did not build; its figure is skipped" >&2
fi

(cd "$here/peers/node" && { [ -d node_modules/ws ] || npm ci --no-audit --no-fund --silent; })
if [ "${BENCH_SKIP_BINDING:-0}" != 1 ]; then
	(cd "$root/bindings/node" && npm ci --no-audit --no-fund --silent) ||
		echo "setup: the Node binding did not build; its figure is skipped" >&2
fi

(cd "$here/peers/go" && "$go" build -o "$root/build/bench/gorilla_peer" .)

[ -x "$root/build/tools/mws" ] && [ -f "$root/build/build.ninja" ] || "$root/scripts/build.sh" "$root/build"
ninja -C "$root/build" client_bench server_bench storm_bench idle_bench rtt_floor echo_floor mws >/dev/null
