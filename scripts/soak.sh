#!/usr/bin/env bash
# The mws.v1 chaos soak (tests/c/test_v1_soak.c) for longer than the suite
# runs it: numbered messages both ways through the fault proxy while it
# resets, blackholes and delays connections and the server restarts
# gracefully; prints the totals and fails on any loss, reordering or
# duplicate the library did not report.
#   scripts/soak.sh [minutes] [builddir]     defaults: 5, build
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-5}
dir=${2:-build}
case $minutes in '' | *[!0-9]*) echo "soak: minutes must be a whole number" >&2; exit 2 ;; esac
[ "$minutes" -ge 1 ] || { echo "soak: at least 1 minute" >&2; exit 2; }
if [ ! -f "$dir/build.ninja" ]; then
	cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMWS_WERROR=ON >/dev/null
fi
cmake --build "$dir" --target test_v1_soak
echo "soak: $minutes minute(s) of faults, then up to 30 s for everything to arrive"
status=0
MWS_SOAK_SECONDS=$((minutes * 60)) "$dir/tests/test_v1_soak" --jobs 1 || status=$?
[ "$status" -eq 0 ] && echo "soak: PASS" || echo "soak: FAIL"
exit "$status"
