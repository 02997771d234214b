#!/usr/bin/env bash
# Many live idle connections (issue 13 item 5): one `mws serve` holding as
# many idle mws.v1 sessions as its fd limit allows (19,000 here), Node `ws`
# holding the same number, and 50,000 across three `mws serve` nodes; 15 s
# heartbeats. A benchmark: never part of scripts/test.sh. About 5 minutes;
# every process it starts is stopped. See bench/README.md.
#
#   bench/live.sh [--single N] [--total N] [--nodes N] [--per-proc N]
#                 [--hb MS] [--idle S] [--only single,ws,cluster] [--note TEXT]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$here/../build/bench/idle_bench" ] || [ ! -x "$here/../build/tools/mws" ] ||
	[ ! -d "$here/peers/node/node_modules/ws" ]; then
	BENCH_SKIP_BINDING=1 "$here/setup.sh"
fi
ulimit -n "$(ulimit -Hn)"
cd "$here"
pid=
stop_driver() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
	wait 2>/dev/null || true
}
trap stop_driver EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
python3 -m harness.live "$@" &
pid=$!
status=0
wait "$pid" || status=$?
pid=
exit "$status"
