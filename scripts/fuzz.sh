#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined)
# and runs each for [seconds] (default 60) from a seed corpus generated from
# tests/vectors/mws_v1.json and a few hand-written inputs.
#   scripts/fuzz.sh [seconds] [outdir]      outdir defaults to build-fuzz
# A finding stops with status 1 and leaves the input in outdir/crash-*.
# -malloc_limit_mb makes any single allocation over 64 MiB a finding: the
# envelope decoder must never size anything from what the input claims.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
out=${2:-build-fuzz}
CC=${CLANG:-clang}
command -v "$CC" >/dev/null || { echo "fuzz: $CC not found (scripts/setup.sh installs clang)"; exit 77; }
mkdir -p "$out"
out=$(cd "$out" && pwd)

CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -std=c11 -D_GNU_SOURCE -Iinclude -Isrc"
MSGPACK=$(pkg-config --cflags --libs msgpack)
CJSON=$(pkg-config --cflags --libs libcjson)
build() { # name sources... -- libs
	local name=$1; shift
	if [ ! -x "$out/$name" ] || [ -n "$(find tests/fuzz src/core scripts/fuzz.sh -newer "$out/$name" -print -quit)" ]; then
		echo "fuzz: building $name"
		# shellcheck disable=SC2086
		$CC $CFLAGS -o "$out/$name" "$@"
	fi
}
build fuzz_envelope tests/fuzz/fuzz_envelope.c src/core/envelope.c src/core/envelope_decode.c \
	src/core/message.c $MSGPACK
build fuzz_json_heartbeat tests/fuzz/fuzz_json_heartbeat.c src/core/json_heartbeat.c $CJSON -lm
build fuzz_close_reason tests/fuzz/fuzz_close_reason.c src/core/close_policy.c

# Seeds: every vector, valid and malformed, is one file.
seeds="$out/seeds"
rm -rf "$seeds"
mkdir -p "$seeds/fuzz_envelope" "$seeds/fuzz_json_heartbeat" "$seeds/fuzz_close_reason"
python3 - "$seeds/fuzz_envelope" <<'PY'
import json, sys
doc = json.load(open("tests/vectors/mws_v1.json"))
for v in doc["valid"] + doc["invalid"]:
    open(f"{sys.argv[1]}/{v['name']}", "wb").write(bytes.fromhex(v["hex"]))
PY
i=0
for s in '{"type":"heartbeat","timestamp":1700000000123,"connectionId":42}' \
         '{"type":"heartbeat_ack","timestamp":1,"connectionId":"abc"}' \
         '{"type":"connection_ack","connectionId":1e300}' \
         ' {"type":"heartbeat","timestamp":-1,"connectionId":[1,{"a":null}]}' \
         '{"type":"heartbeat_ack","timestamp":18446744073709551616}' 'hello' '{'; do
	printf '%s' "$s" >"$seeds/fuzz_json_heartbeat/seed$((i++))"
done
i=0
for s in '\x03\xeacode=1012 retry-after=2500' '\x03\xf4restart' '\x03\xeacode=99999999999999999999' \
         '\x0f\xa0retry-after=1,code=4001;x' '\x03\xe9retry-after=' '\x03\xea\x00code=1012'; do
	printf "$s" >"$seeds/fuzz_close_reason/seed$((i++))"
done

status=0
for t in fuzz_envelope fuzz_json_heartbeat fuzz_close_reason; do
	corpus="$out/corpus/$t"
	mkdir -p "$corpus"
	echo "fuzz: $t for ${secs}s"
	if ! "$out/$t" -max_total_time="$secs" -timeout=5 -rss_limit_mb=1024 -malloc_limit_mb=64 \
		-print_final_stats=1 -artifact_prefix="$out/crash-$t-" "$corpus" "$seeds/$t" \
		>"$out/$t.log" 2>&1; then
		echo "fuzz: $t FOUND A PROBLEM; see $out/$t.log and $out/crash-$t-*"
		tail -n 30 "$out/$t.log"
		status=1
	else
		grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$out/$t.log" | tr '\n' ' '
		echo
	fi
done
exit $status
