#!/usr/bin/env bash
# Server CPU per message of our sink: server_bench sink (CPU 0) takes COUNT
# messages of SIZE bytes from client_bench (CPU 1); prints the client's
# figure and the server's task-clock / COUNT (perf stat; no hardware
# counters needed). Load-sensitive: run it on an idle machine.
#   bench/sink_cpu.sh RX_BUFFER_BYTES SIZE COUNT [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
rx=$1 size=$2 count=$3 build=${4:-build}
out=$(mktemp) stat=$(mktemp)
trap 'rm -f "$out" "$stat"' EXIT
taskset -c 0 perf stat -x, -e task-clock -o "$stat" \
	"$build/bench/server_bench" sink --port 0 --rx-buffer "$rx" >"$out" 2>&1 &
srv=$!
for _ in $(seq 100); do grep -q PORT "$out" && break; sleep 0.1; done
port=$(awk '/PORT/{print $2}' "$out")
taskset -c 1 "$build/bench/client_bench" "ws://127.0.0.1:$port/" throughput "$count" "$size" |
	grep -o '"msg_per_s":[0-9.]*\|"sink_count":[0-9]*' | tr '\n' ' '
pkill -INT -P "$srv" server_bench # perf waits for its child to end
wait "$srv" || true
awk -F, -v n="$count" '/task-clock/{printf "server_ns_per_msg=%.0f\n", $1 * 1e6 / n}' "$stat"
