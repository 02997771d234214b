#!/usr/bin/env bash
# Runs the example client under valgrind memcheck while its server restarts
# under it (connect, reconnect, queued flush, free): any error, or any
# definite or indirect leak, fails.
#   scripts/valgrind.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
tmp=$(mktemp -d)
pid=""
trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT

# wait_for FILE PATTERN: up to 30 s for a line matching PATTERN.
wait_for() {
	for _ in $(seq 300); do
		grep -q -e "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "valgrind.sh: no '$2' in $1" >&2
	cat "$1" >&2
	return 1
}
start_server() { # start_server PORT LOGFILE
	python3 tests/peers/py_ws_server.py --port "$1" >"$2" 2>&1 &
	pid=$!
	wait_for "$2" '^PORT '
}

start_server 0 "$tmp/server1"
port=$(awk '/^PORT /{print $2; exit}' "$tmp/server1")
# Bounded: a client that never ends fails the run instead of hanging CI.
timeout -k 10 300 valgrind --quiet --error-exitcode=9 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect \
	"$build/mws_example_reconnect" "ws://127.0.0.1:$port/" 8 >"$tmp/client" 2>&1 &
client=$!
wait_for "$tmp/client" '-> CONNECTED'
kill "$pid"; wait "$pid" 2>/dev/null || true
wait_for "$tmp/client" '-> RECONNECTING'
start_server "$port" "$tmp/server2"
status=0
wait "$client" || status=$?
[ $status -ne 124 ] || echo "valgrind.sh: the client did not finish within 300 s" >&2
if [ $status -ne 0 ] || ! grep -q "reconnects=1" "$tmp/client"; then
	cat "$tmp/client" >&2
	echo "valgrind.sh: memcheck failed or the client did not reconnect (status $status)" >&2
	exit 1
fi
echo "valgrind: memcheck clean; the client reconnected and flushed its queue"
