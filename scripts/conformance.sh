#!/usr/bin/env bash
# Runs the WebSocket conformance suite, Autobahn|Testsuite (wstest, from
# PyPI's autobahntestsuite, which needs Python 2.7), against both ends:
#   server: wstest -m fuzzingclient against `mws serve --mode echo`
#   client: wstest -m fuzzingserver against tests/conformance/testee_client
#           (a managedws client over the public header, one per case)
#   python: the same through the Python binding (testee_client.py, with the
#           package pip-installed from this checkout into $build/conformance-py)
# Cases 1.* to 10.*. 12.* and 13.* (permessage-deflate) are not run: our
# server does not negotiate the extension and our client never offers it
# (libwebsockets 4.1.6's client loops on some frames with it).
#
# It prints one line per end, "server: OK n, NON-STRICT n, INFORMATIONAL n,
# FAILED n" (WRONG CODE and the like count as FAILED), then every failed
# case; a failed case must be in tests/conformance/allowlist.txt (behaviour
# of libwebsockets 4.1.6 that cannot be changed from outside, with the
# source line) or the run fails.
#
#   scripts/conformance.sh [--build DIR] [--ends "server client"]
#                          [--cases "1.*,2.*"] [--peer websockets]
#
#   --build DIR      where mws and testee_client were built (default build)
#   --ends LIST      which ends to run (default "server client python")
#   --cases LIST     comma-separated case patterns (default 1.* to 10.*)
#   --peer websockets  run the server end against Python `websockets`' echo
#                    server instead of ours (for comparison; no allow-list)
#   --install-only   install the suite if missing, run nothing (setup.sh)
#
# Exit status: 0 every failure allowed, 1 a failure not allowed (or an end
# that did not finish), 2 bad usage, 3 cannot run: no Python 2.7 or the
# suite cannot be installed (it says what is missing on a line starting
# "conformance: SKIPPED:").
#
# Environment: MWS_PYTHON2 (a python2.7 to use), MWS_CONFORMANCE_CACHE
# (where the suite's virtualenv lives; default ~/.cache/managedws/autobahn),
# MWS_CONFORMANCE_CLIENT_PORT (the suite's port for the client end; default
# a free one; 80 is a diagnosis aid: the suite then accepts a Host header
# without a port), MWS_WSTEST_TIMEOUT (seconds per wstest run; default 150).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

build=build
ends="server client python"
cases="1.*,2.*,3.*,4.*,5.*,6.*,7.*,8.*,9.*,10.*"
peer=ours
install_only=0
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--ends) ends=$2; shift 2 ;;
	--cases) cases=$2; shift 2 ;;
	--peer) peer=$2; shift 2 ;;
	--install-only) install_only=1; shift ;;
	*) echo "usage: $0 [--build DIR] [--ends LIST] [--cases LIST] [--peer websockets]" >&2
	   exit 2 ;;
	esac
done
case "$peer" in ours | websockets) ;; *) echo "conformance: unknown --peer $peer" >&2; exit 2 ;; esac

skip() {
	echo "conformance: SKIPPED: $*" >&2
	exit 3
}

# Pinned: autobahntestsuite 25.10.1 pins its own dependencies (Twisted
# 19.10, autobahn 0.10.9, ...); virtualenv 20.15 is the last that runs on 2.7.
ABTS_VERSION=25.10.1
VIRTUALENV_VERSION=20.15.1
WSTEST_TIMEOUT=${MWS_WSTEST_TIMEOUT:-150}

# ---- a Python 2.7 and the suite ----

home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
find_python2() {
	local c candidates=()
	[ -n "${MWS_PYTHON2:-}" ] && candidates+=("$MWS_PYTHON2")
	for c in "${PYENV_ROOT:-$home/.pyenv}"/versions/2.7*/bin/python2.7 \
		"$home"/.pyenv/versions/2.7*/bin/python2.7; do
		[ -x "$c" ] && candidates+=("$c")
	done
	c=$(command -v python2.7 2>/dev/null) && candidates+=("$c")
	for c in "${candidates[@]}"; do
		if "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))' 2>/dev/null; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

cache=${MWS_CONFORMANCE_CACHE:-${XDG_CACHE_HOME:-$home/.cache}/managedws/autobahn}
venv=$cache/venv-$ABTS_VERSION
wstest=$venv/bin/wstest

install_suite() {
	local py2
	py2=$(find_python2) || skip "no Python 2.7 (Autobahn|Testsuite needs one): looked at" \
		"\$MWS_PYTHON2, ${PYENV_ROOT:-$home/.pyenv}/versions/2.7*/bin/python2.7 and python2.7" \
		"on PATH; Debian 12 has no python2.7 package: install one with pyenv" \
		"(pyenv install 2.7.18) and run again"
	echo "conformance: installing autobahntestsuite $ABTS_VERSION with $py2 into $venv"
	rm -rf "$venv" "$cache/boot"
	mkdir -p "$cache"
	local log=$cache/install.log
	if ! { timeout 300 "$py2" -m pip install -q --disable-pip-version-check \
			--no-warn-script-location --target "$cache/boot" \
			"virtualenv==$VIRTUALENV_VERSION" &&
		PYTHONPATH=$cache/boot timeout 120 "$py2" -m virtualenv -q \
			--no-periodic-update "$venv" &&
		timeout 600 "$venv/bin/pip" install -q --disable-pip-version-check \
			"autobahntestsuite==$ABTS_VERSION"; } >"$log" 2>&1; then
		tail -n 20 "$log" >&2
		rm -rf "$venv"
		skip "could not install autobahntestsuite $ABTS_VERSION (log: $log)"
	fi
	"$wstest" --help >/dev/null 2>&1 || skip "wstest does not start (log: $log)"
}
[ -x "$wstest" ] && "$wstest" --help >/dev/null 2>&1 || install_suite
[ $install_only -eq 0 ] || exit 0

# ---- what is tested ----

mws=$build/tools/mws
testee=$build/tests/testee_client
for f in "$mws" "$testee"; do
	[ -x "$f" ] || { echo "conformance: $f is missing: build first (scripts/build.sh $build)" >&2; exit 1; }
done

out=$root/$build/conformance
[ "$peer" = websockets ] && out=$root/$build/conformance-websockets
mkdir -p "$out"

cases_json=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1].split(",")))' "$cases")

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	pids=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits up to $2 seconds for "PORT n" in file $1; prints n.
wait_port_line() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		if grep -q '^PORT ' "$1" 2>/dev/null; then
			sed -n 's/^PORT \([0-9]*\).*/\1/p' "$1" | head -n 1
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# suite_listening PORT PID SECONDS: the fuzzing server started as PID (a
# `timeout` whose child is wstest) listens on PORT itself; a port taken by
# another process meanwhile makes wstest exit instead.
suite_listening() {
	local i p
	for ((i = 0; i < $3 * 10; i++)); do
		kill -0 "$2" 2>/dev/null || return 1
		for p in $(ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2); do
			[ "$(ps -o ppid= -p "$p" | tr -d ' ')" = "$2" ] && return 0
		done
		sleep 0.1
	done
	return 1
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

status=0
summarize() { # END AGENT DIR
	local allow=$root/tests/conformance/allowlist.txt rc=0
	[ "$peer" = websockets ] && allow=
	python3 "$root/tests/conformance/summarize.py" "$1" "$3/index.json" "$2" $allow || rc=$?
	[ $rc -eq 0 ] || status=1
}

# ---- server end: the suite as client, against our echo server ----

run_server_end() {
	local dir=$out/server agent=managedws port
	rm -rf "$dir"
	mkdir -p "$dir"
	if [ "$peer" = websockets ]; then
		agent=websockets
		python3 "$root/tests/peers/py_ws_server.py" --no-compression >"$dir/peer.out" 2>"$dir/peer.log" &
	else
		# No rate limit (the suite opens ~300 connections in a row), room for
		# the 16 MiB messages of 9.*, no pings or reaping of our own.
		"$mws" serve --host 127.0.0.1 --port 0 --print-port --mode echo --rate 0 \
			--max-message-bytes 64M --send-queue-max-bytes 256M --ping-interval 0 \
			--heartbeat-timeout 600000 --summary-interval 0 --quiet \
			>"$dir/peer.out" 2>"$dir/peer.log" &
	fi
	local peer_pid=$!
	pids+=("$peer_pid")
	port=$(wait_port_line "$dir/peer.out" 15) || {
		echo "server: the echo server did not start (see $dir/peer.log)"; status=1; return; }
	cat >"$dir/spec.json" <<-EOF
	{"outdir": "$dir/reports", "servers": [{"agent": "$agent", "url": "ws://127.0.0.1:$port"}],
	 "cases": $cases_json, "exclude-cases": [], "exclude-agent-cases": {}}
	EOF
	local rc=0
	(cd "$dir" && timeout "$WSTEST_TIMEOUT" "$wstest" -m fuzzingclient -s spec.json >wstest.log 2>&1) || rc=$?
	[ $rc -eq 0 ] || echo "server: wstest exited $rc (see $dir/wstest.log)"
	kill "$peer_pid" 2>/dev/null || true
	summarize server "$agent" "$dir/reports"
}

# ---- client end: the suite as server, our client connecting to it ----

# A Python with this checkout's managedws installed (rebuilt incrementally).
python_testee_env() {
	local venv=$root/$build/conformance-py
	[ -x "$venv/bin/python" ] || python3 -m venv "$venv" >/dev/null
	timeout 300 "$venv/bin/python" -m pip install -q --disable-pip-version-check \
		-C "build-dir=$root/$build/conformance-py-build" "$root" \
		>"$out/python-install.log" 2>&1 || return 1
	echo "$venv/bin/python"
}

run_client_end() { # END: client (C testee) or python (the binding's)
	local end=$1 dir=$out/$1 port agent=managedws testee_cmd
	rm -rf "$dir"
	mkdir -p "$dir"
	if [ "$end" = python ]; then
		agent=managedws-python
		local py
		py=$(python_testee_env) || {
			echo "python: cannot install the binding (see $out/python-install.log)"
			status=1
			return
		}
		testee_cmd=("$py" "$root/tests/conformance/testee_client.py")
	else
		testee_cmd=("$testee")
	fi
	# The port is free when chosen but may be taken before the suite binds
	# it (other tests run beside this one): then try another, three times.
	local try suite_pid=""
	for try in 1 2 3; do
		port=${MWS_CONFORMANCE_CLIENT_PORT:-$(free_port)}
		cat >"$dir/spec.json" <<-EOF
		{"url": "ws://127.0.0.1:$port", "outdir": "$dir/reports",
		 "cases": $cases_json, "exclude-cases": [], "exclude-agent-cases": {}}
		EOF
		(cd "$dir" && exec timeout "$WSTEST_TIMEOUT" "$wstest" -m fuzzingserver -s spec.json) \
			>"$dir/wstest.log" 2>&1 &
		suite_pid=$!
		pids+=("$suite_pid")
		if suite_listening "$port" "$suite_pid" 30; then
			break
		fi
		kill "$suite_pid" 2>/dev/null || true
		suite_pid=""
		grep -q CannotListenError "$dir/wstest.log" || break
	done
	if [ -z "$suite_pid" ]; then
		echo "$end: the suite did not listen on $port (see $dir/wstest.log)"
		status=1
		return
	fi
	local rc=0
	local ms=30000
	[ "$end" = python ] && ms=30
	timeout "$WSTEST_TIMEOUT" "${testee_cmd[@]}" "ws://127.0.0.1:$port" --agent "$agent" \
		--case-timeout $ms >"$dir/testee.log" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then
		echo "$end: the testee exited $rc (see $dir/testee.log), last lines:"
		tail -n 3 "$dir/testee.log" | sed 's/^/    /'
	fi
	kill "$suite_pid" 2>/dev/null || true
	summarize "$end" "$agent" "$dir/reports"
}

for end in $ends; do
	case "$end" in
	server) run_server_end ;;
	client | python)
		if [ "$peer" = websockets ]; then
			echo "$end: not run with --peer websockets"
		else
			run_client_end "$end"
		fi ;;
	*) echo "conformance: unknown end $end" >&2; exit 2 ;;
	esac
	cleanup
done
echo "conformance: reports in $out"
exit $status
