#!/usr/bin/env bash
# Throughput and round trip: our client and Node's `ws` client, each against
# the same echo servers (Node `ws`, Python `websockets`), in one run.
# Speeds are reported, never asserted. Server pinned to CPU 0, client to CPU 1.
#   bench/run.sh [COUNT] [SIZE]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-100000}
size=${2:-64}
[ -x build/bench/client_bench ] || scripts/build.sh build
pids=()
tmp=$(mktemp -d)
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$tmp"' EXIT

# start_server NAME COMMAND...: runs it pinned to CPU 0, output to a file.
start_server() {
	local name=$1; shift
	taskset -c 0 "$@" >"$tmp/$name" 2>/dev/null &
	pids+=($!)
}
# port_of NAME: the port from the server's "PORT n" line (waits up to 10 s).
port_of() {
	for _ in $(seq 100); do
		grep -q '^PORT ' "$tmp/$1" && break
		sleep 0.1
	done
	awk '/^PORT /{print $2; exit}' "$tmp/$1"
}

names=(node-ws python-websockets)
start_server node-ws node tests/peers/ws_server.mjs
start_server python-websockets python3 tests/peers/py_ws_server.py
if [ -x build/tools/mws ]; then
	names+=(managedws)
	start_server managedws build/tools/mws serve --port 0 --mode echo --print-port
fi
declare -A servers
for name in "${names[@]}"; do
	servers[$name]=$(port_of "$name")
done

for server in "${!servers[@]}"; do
	url="ws://127.0.0.1:${servers[$server]}/"
	n=$count
	[ "$server" = python-websockets ] && n=$((count / 5)) # keep the slow one short
	for mode in throughput rtt; do
		m=$n; [ $mode = rtt ] && m=2000
		echo "server=$server $(taskset -c 1 build/bench/client_bench "$url" $mode $m "$size")"
		echo "server=$server $(taskset -c 1 node bench/ws_client_bench.mjs "$url" $mode $m "$size")"
	done
done
