#!/usr/bin/env bash
# Several nodes behind a load balancer, a node killed mid-stream, nothing lost.
#
# Starts on 127.0.0.1: redis-server (a free port, no persistence), three
# `mws serve --mode echo --session-store redis://...` nodes and HAProxy with
# deploy/haproxy.cfg (round-robin, no stickiness). Then `mws cluster-client`
# runs N mws.v1 clients through HAProxy, each sending numbered messages and
# checking the echoes, and the numbered stream node3 broadcasts (--tick).
# At 1/3 of the run node1 is killed with kill -9; at 2/3 node2 is stopped
# with SIGTERM (graceful shutdown: goaway, 1012). The client prints, per
# client and in total: sent, delivered, lost, duplicated, reordered,
# resumes, sessions lost, reconnection time (p50, max), and the same for the
# ticks. Exit 0 only with 0 lost, 0 duplicated, 0 reordered (echoes, and
# ticks while connected: ticks missed between two connections are counted
# apart, see docs/DEPLOYMENT.md), no session lost, and at least one session
# resumed on another node (else the kills tested nothing).
#
#   scripts/cluster.sh [--clients N] [--seconds S] [--rate PER_SEC]
#                      [--memory] [--mws PATH] [--keep-logs]
#     --clients N    clients (default 20)
#     --seconds S    how long they send (default 30, at least 6)
#     --rate R       messages per second per client (default 20)
#     --memory       nodes keep sessions in memory, no Redis: a client that
#                    lands on another node loses its session. Shows that the
#                    counters can fail: expected to FAIL (sessions lost).
#     --mws PATH     the mws binary (default build/tools/mws)
#     --keep-logs    keep the logs folder (printed at the end)
#
# Exit status: 0 pass, 1 fail, 2 bad usage, 77 skipped, said loudly on
# stderr: redis-server or haproxy missing (scripts/setup.sh installs both),
# or an mws without the Redis session store.
set -euo pipefail
cd "$(dirname "$0")/.."

clients=20 seconds=30 rate=20 memory=0 mws=build/tools/mws keep=0
usage() { sed -n '18,31p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--clients) clients=${2:-}; shift 2 ;;
	--seconds) seconds=${2:-}; shift 2 ;;
	--rate) rate=${2:-}; shift 2 ;;
	--memory) memory=1; shift ;;
	--mws) mws=${2:-}; shift 2 ;;
	--keep-logs) keep=1; shift ;;
	-h | --help) usage ;;
	*) echo "cluster: unknown argument '$1'" >&2; usage ;;
	esac
done
for v in "$clients" "$seconds" "$rate"; do
	case $v in '' | *[!0-9]*) echo "cluster: numbers must be whole and positive" >&2; exit 2 ;; esac
done
[ "$seconds" -ge 6 ] || { echo "cluster: --seconds is at least 6" >&2; exit 2; }
[ "$clients" -ge 1 ] && [ "$rate" -ge 1 ] || { echo "cluster: --clients and --rate >= 1" >&2; exit 2; }

missing=()
command -v haproxy >/dev/null || missing+=(haproxy)
if [ "$memory" -eq 0 ]; then
	command -v redis-server >/dev/null || missing+=(redis-server)
	command -v redis-cli >/dev/null || missing+=("redis-cli (redis-tools)")
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "cluster: SKIPPED: ${missing[*]} not installed (scripts/setup.sh installs them)" >&2
	exit 77
fi
[ -x "$mws" ] || { echo "cluster: $mws not built (scripts/build.sh build)" >&2; exit 1; }
if [ "$memory" -eq 0 ] && ! "$mws" serve --help | grep -q -- '--session-store'; then
	echo "cluster: SKIPPED: $mws serve has no --session-store: this build has no Redis" \
	     "session store" >&2
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mws-cluster.XXXXXX")
declare -A pid=()
say() { printf '%s cluster: %s\n' "$(date -u +%H:%M:%S.%3N)" "$*" >&2; }

# Every process this script starts is stopped here, whatever happens.
cleanup() {
	local status=$? name
	trap - EXIT INT TERM
	for name in "${!pid[@]}"; do
		kill -TERM "${pid[$name]}" 2>/dev/null || true
	done
	for name in "${!pid[@]}"; do
		for _ in $(seq 50); do kill -0 "${pid[$name]}" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "${pid[$name]}" 2>/dev/null || true
		wait "${pid[$name]}" 2>/dev/null || true
	done
	if [ "$keep" -eq 1 ] || [ "$status" -ne 0 ]; then
		echo "cluster: logs in $tmp" >&2
	else
		rm -rf "$tmp"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits (bounded) until a command succeeds; fails the run otherwise.
wait_for() {
	local what=$1 tries=$2; shift 2
	for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	say "FAILED: $what"
	exit 1
}

# HAProxy's view of the nodes, from its admin socket: "node1=UP node2=DOWN ...".
lb_status() {
	python3 - "$tmp/lb.sock" <<'EOF' 2>/dev/null || echo "?"
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(sys.argv[1])
s.sendall(b"show stat\n"); data = b""
while chunk := s.recv(65536): data += chunk
rows = [l.split(",") for l in data.decode().splitlines() if l and not l.startswith("#")]
print(" ".join(f"{r[1]}={r[17]}" for r in rows if r[0] == "mws_nodes" and r[1].startswith("node")))
EOF
}

store_args=()
if [ "$memory" -eq 0 ]; then
	# A free port can be taken between the probe and the bind: three tries.
	for _ in 1 2 3; do
		rport=$(free_port)
		redis-server --bind 127.0.0.1 --port "$rport" --save '' --appendonly no \
			--dir "$tmp" --logfile "$tmp/redis.log" --daemonize no &
		pid[redis]=$!
		for _ in $(seq 50); do
			redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG && break
			kill -0 "${pid[redis]}" 2>/dev/null || break
			sleep 0.1
		done
		redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG && break
		kill -KILL "${pid[redis]}" 2>/dev/null || true
		wait "${pid[redis]}" 2>/dev/null || true
		unset 'pid[redis]'
	done
	[ -n "${pid[redis]:-}" ] || { say "FAILED: redis-server did not start ($tmp/redis.log)"; exit 1; }
	say "redis-server on 127.0.0.1:$rport (no persistence)"
	store_args=(--session-store "redis://127.0.0.1:$rport/0")
else
	say "--memory: sessions stay in each node's memory (no Redis): expect sessions lost"
fi

# Behind a load balancer every client comes from HAProxy's address, so the
# per-address handshake limits of mws serve are off (HAProxy would be the
# place to limit per client address).
# node3, which stays up, also broadcasts a numbered stream ("tick=N" every
# 100 ms) that must reach every client of every node without a gap.
declare -A port=()
for n in 1 2 3; do
	tick=0
	[ "$n" -ne 3 ] || tick=100
	"$mws" serve --host 127.0.0.1 --port 0 --print-port --mode echo --quiet \
		--summary-interval 5000 --rate 0 --max-handshakes-per-address -1 \
		--shutdown-spread 1000 --shutdown-deadline 5000 --tick "$tick" "${store_args[@]}" \
		>"$tmp/node$n.out" 2>"$tmp/node$n.log" &
	pid[node$n]=$!
	wait_for "node$n did not listen ($tmp/node$n.log)" 100 grep -q '^PORT ' "$tmp/node$n.out"
	port[$n]=$(awk '/^PORT /{print $2; exit}' "$tmp/node$n.out")
	say "node$n: mws serve on 127.0.0.1:${port[$n]} (pid ${pid[node$n]})"
done

for _ in 1 2 3; do
	lport=$(free_port)
	MWS_LB_BIND="127.0.0.1:$lport" MWS_LB_STATS="$tmp/lb.sock" \
	MWS_NODE1="127.0.0.1:${port[1]}" MWS_NODE2="127.0.0.1:${port[2]}" \
	MWS_NODE3="127.0.0.1:${port[3]}" \
		haproxy -f deploy/haproxy.cfg -db >"$tmp/haproxy.log" 2>&1 &
	pid[haproxy]=$!
	for _ in $(seq 50); do
		curl -fsS -o /dev/null "http://127.0.0.1:$lport/healthz" 2>/dev/null && break
		kill -0 "${pid[haproxy]}" 2>/dev/null || break
		sleep 0.1
	done
	curl -fsS -o /dev/null "http://127.0.0.1:$lport/healthz" 2>/dev/null && break
	kill -KILL "${pid[haproxy]}" 2>/dev/null || true
	wait "${pid[haproxy]}" 2>/dev/null || true
	unset 'pid[haproxy]'
done
[ -n "${pid[haproxy]:-}" ] || { say "FAILED: haproxy did not start ($tmp/haproxy.log)"; exit 1; }
all_up() { [ "$(lb_status)" = "node1=UP node2=UP node3=UP" ]; }
wait_for "HAProxy does not see three healthy nodes: $(lb_status)" 100 all_up
say "haproxy on 127.0.0.1:$lport (round-robin, no stickiness): $(lb_status)"

# The client: bounded by its own flags; `timeout` is the backstop.
"$mws" cluster-client --clients "$clients" --seconds "$seconds" --rate "$rate" \
	--connect-timeout 20000 --drain 20000 --ticks "ws://127.0.0.1:$lport/" \
	>"$tmp/client.out" 2>"$tmp/client.log" &
pid[client]=$!
tail -n +1 -f "$tmp/client.log" >&2 &
pid[tail]=$!
wait_for "the clients did not all connect ($tmp/client.log)" 300 \
	grep -q 'clients connected' "$tmp/client.log"
start=$(date +%s%N)
sleep_until() { # seconds since the clients began sending
	local left=$(( (start + $1 * 1000000000 - $(date +%s%N)) / 1000000 ))
	[ "$left" -le 0 ] || sleep "$(printf '%d.%03d' $((left / 1000)) $((left % 1000)))"
}

sleep_until $((seconds / 3))
say "kill -9 node1 (pid ${pid[node1]}) mid-stream"
kill -KILL "${pid[node1]}"
{ wait "${pid[node1]}"; } 2>/dev/null || true # no "Killed" line from bash
unset 'pid[node1]'
sleep_until $((2 * seconds / 3))
say "SIGTERM node2 (pid ${pid[node2]}): graceful shutdown; HAProxy: $(lb_status)"
kill -TERM "${pid[node2]}"

# node2 has --shutdown-deadline 5000: it is gone well before the client.
node2_status=0
wait "${pid[node2]}" || node2_status=$?
unset 'pid[node2]'
say "node2 exited with $node2_status (0: every client closed in time); HAProxy: $(lb_status)"

client_status=0
budget=$((seconds + 60))
for _ in $(seq $((budget * 10))); do kill -0 "${pid[client]}" 2>/dev/null || break; sleep 0.1; done
if kill -0 "${pid[client]}" 2>/dev/null; then
	say "FAILED: the client is still running after ${budget} s"
	exit 1
fi
wait "${pid[client]}" || client_status=$?
unset 'pid[client]'
sleep 0.2 # the tail shows the client's last lines
cat "$tmp/client.out"
resumes=$(sed -n 's/^TOTAL .* resumes=\([0-9]*\).*/\1/p' "$tmp/client.out")
if [ "$client_status" -eq 0 ] && [ "${resumes:-0}" -eq 0 ]; then
	say "no session resumed: the kills reached no client, nothing was tested"
	client_status=1
fi
if [ "$client_status" -eq 0 ]; then
	say "PASS: node1 killed, node2 stopped gracefully, nothing lost, duplicated or reordered"
else
	say "FAIL (see the counts above)"
fi
exit "$client_status"
