#!/usr/bin/env bash
# Benchmarks managedws beside Node `ws`, Python `websockets`, Go
# `gorilla/websocket` and `picows` in one run: the same sink and echo
# servers for every client, servers pinned to CPU 0 and clients to CPU 1,
# medians of 3 runs with their spread. Prints the tables and writes
# bench/results/<date>.md, .json and PNG plots. Speeds are reported, never
# asserted. Everything stays on 127.0.0.x; every process started is stopped.
#
#   bench/run.sh [--quick] [--only client,binding,sink,rtt,server_rtt,memory,storm]
#                [--note "machine busy"]
#
# First run: bench/setup.sh installs the peers (run.sh calls it if needed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${BENCH_VENV:-$here/.venv}
if [ ! -x "$venv/bin/python" ] || [ ! -x "$here/../build/bench/gorilla_peer" ] ||
	[ ! -d "$here/peers/node/node_modules/ws" ] || [ ! -x "$here/../build/bench/server_bench" ] || [ ! -x "$here/../build/bench/idle_bench" ] || [ ! -x "$here/../build/bench/rtt_floor" ] || [ ! -x "$here/../build/bench/echo_floor" ]; then
	"$here/setup.sh"
fi
ulimit -n "$(ulimit -Hn)"
cd "$here"
pid=
# The driver stops what it started when it gets SIGTERM (procs.py).
stop_driver() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
	wait 2>/dev/null || true
}
trap stop_driver EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
"$venv/bin/python" -m harness "$@" &
pid=$!
status=0
wait "$pid" || status=$?
pid=
exit "$status"
