#!/usr/bin/env bash
# Load-independent counts per message: syscalls (strace -c -f), context
# switches (perf stat -e context-switches, all threads; a run of its own,
# strace would add its own) and heap allocations (an LD_PRELOAD counter),
# each from two runs of N and 2N messages so the fixed cost of starting and
# stopping cancels out.
#
#   bench/counts/run.sh [BUILD_DIR] [N]
#   COUNTS_ONLY="client_rtt mws_echo" bench/counts/run.sh    (some scenarios)
#
# Scenarios (64-byte binary messages, our client against our server, plain
# WebSocket: client_bench offers no mws.v1):
#   client_send   client side of client_bench throughput -> sink server
#   client_rtt    client side of client_bench rtt (app thread) -> echo server
#   client_rtt_cb client side of client_bench rtt_cb (send from on_message)
#   server_echo   server side, echoing from on_message (client_bench rtt_cb)
#   mws_echo      the same, the server being `mws serve --mode echo` (the
#                 server of bench/run.sh's echo round trip)
#   server_sink   server side of client_bench throughput -> sink server
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
n=${2:-20000}
bench=$build/bench
tmp=$(mktemp -d)
srv_pid=
cleanup() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
cc -O2 -shared -fPIC -o "$tmp/alloc_count.so" bench/counts/alloc_count.c

# start_server MODE [wrapper...]: sets srv_pid and port. MODE mws-echo is
# `mws serve --mode echo` as bench/run.sh starts it.
start_server() {
	local mode=$1 cmd
	shift
	if [ "$mode" = mws-echo ]; then
		cmd=("$build/tools/mws" serve --mode echo --print-port --quiet --rate 0
			--ping-interval 0 --summary-interval 0)
	else
		cmd=("$bench/server_bench" "$mode")
	fi
	# Removed first: the child truncates it only once it runs, and the
	# last server's PORT line must not be read meanwhile.
	rm -f "$tmp/srv.out"
	"$@" "${cmd[@]}" >"$tmp/srv.out" 2>"$tmp/srv.err" &
	srv_pid=$!
	for _ in $(seq 1 200); do
		port=$(awk '/^PORT/{print $2}' "$tmp/srv.out" 2>/dev/null || true)
		[ -n "$port" ] && return 0
		sleep 0.05
	done
	echo "server did not start" >&2
	cat "$tmp/srv.err" >&2
	exit 1
}

stop_server() {
	# under strace the server is strace's child: signal it, strace follows
	local target
	target=$(pgrep -P "$srv_pid" -x server_bench || pgrep -P "$srv_pid" -x mws ||
		echo "$srv_pid")
	kill -TERM "$target"
	for _ in $(seq 1 400); do
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.05
	done
	wait "$srv_pid" 2>/dev/null || true
	srv_pid=
}

# total syscalls (all, and without nanosleep) in an strace -c file
sys_total() {
	python3 -c 'import re,sys
print(sum(int(f[3]) for f in (l.split() for l in open(sys.argv[1]))
          if len(f) >= 5 and re.match(r"^[0-9.]+$", f[0]) and f[-1] != "total"))' "$1"
}
allocs() { awk '/^ALLOCS/{print $2}' "$1" | tail -1; }
# context switches in a perf stat -x, file
switches() { awk -F, '/context-switches/{print $1}' "$1" | tail -1; }

# run_wrapped SIDE SERVER_MODE CLIENT_MODE COUNT WRAPPER...: the wrapper
# (strace, perf) around the side measured
run_wrapped() {
	local side=$1 smode=$2 cmode=$3 count=$4
	shift 4
	local s_wrap=() c_wrap=()
	if [ "$side" = server ]; then
		s_wrap=("$@")
	else
		c_wrap=("$@")
	fi
	start_server "$smode" "${s_wrap[@]}"
	"${c_wrap[@]}" "$bench/client_bench" "ws://127.0.0.1:$port/" "$cmode" "$count" 64 plain \
		>/dev/null
	stop_server
}

# measure SCENARIO SIDE SERVER_MODE CLIENT_MODE COUNT -> "syscalls switches allocs"
measure() {
	local side=$1 smode=$2 cmode=$3 count=$4
	run_wrapped "$side" "$smode" "$cmode" "$count" strace -f -c -o "$tmp/strace"
	local sc cs
	sc=$(sys_total "$tmp/strace")
	cp "$tmp/strace" "$tmp/strace.$side.$smode.$cmode.$count"
	run_wrapped "$side" "$smode" "$cmode" "$count" \
		perf stat -e context-switches -x , -o "$tmp/perf" --
	cs=$(switches "$tmp/perf")
	if [ "$side" = server ]; then
		start_server "$smode" env LD_PRELOAD="$tmp/alloc_count.so"
		"$bench/client_bench" "ws://127.0.0.1:$port/" "$cmode" "$count" 64 plain >/dev/null
		stop_server
		al=$(allocs "$tmp/srv.err")
	else
		start_server "$smode"
		LD_PRELOAD="$tmp/alloc_count.so" "$bench/client_bench" \
			"ws://127.0.0.1:$port/" "$cmode" "$count" 64 plain >/dev/null 2>"$tmp/cli.err"
		stop_server
		al=$(allocs "$tmp/cli.err")
	fi
	echo "$sc $cs $al"
}

# per-message figures from N and 2N, plus the syscall mix of the 2N run
scenario() {
	local name=$1 side=$2 smode=$3 cmode=$4
	[ -z "${COUNTS_ONLY:-}" ] || [[ " $COUNTS_ONLY " == *" $name "* ]] || return 0
	read -r s1 c1 a1 < <(measure "$side" "$smode" "$cmode" "$n")
	read -r s2 c2 a2 < <(measure "$side" "$smode" "$cmode" $((2 * n)))
	awk -v name="$name" -v n="$n" -v s1="$s1" -v s2="$s2" -v a1="$a1" -v a2="$a2" \
		-v c1="$c1" -v c2="$c2" 'BEGIN{
		printf "%-13s syscalls/msg %6.2f   switches/msg %5.2f   allocs/msg %5.2f\n",
			name, (s2-s1)/n, (c2-c1)/n, (a2-a1)/n }'
	local f1="$tmp/strace.$side.$smode.$cmode.$n" f2="$tmp/strace.$side.$smode.$cmode.$((2 * n))"
	python3 - "$f1" "$f2" "$n" <<'PY'
import re, sys
def calls(path):
    out = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 5 and re.match(r'^[0-9.]+$', f[0]) and f[-1] != 'total':
            out[f[-1]] = int(f[3])
    return out
a, b, n = calls(sys.argv[1]), calls(sys.argv[2]), int(sys.argv[3])
mix = sorted(((b.get(k, 0) - a.get(k, 0)) / n, k) for k in b)
print('              ' + '  '.join('%s %.2f' % (k, v) for v, k in reversed(mix) if v >= 0.01))
PY
}

echo "counts per 64-byte message, from runs of $n and $((2 * n)) messages ($build)"
scenario client_send client sink throughput
scenario client_rtt client echo rtt
scenario client_rtt_cb client echo rtt_cb
scenario server_echo server echo rtt_cb
scenario mws_echo server mws-echo rtt_cb
scenario server_sink server sink throughput
