#!/usr/bin/env bash
# Every test: the C suite (plain, AddressSanitizer+UBSan, ThreadSanitizer),
# then the Python and Node bindings. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ulimit -n 8192 2>/dev/null || true

run_ctest() {
	echo "== C tests: $1"
	ctest --test-dir "$1" --output-on-failure -j2
}

scripts/build.sh build
run_ctest build
echo "== install check"
scripts/check-install.sh build
echo "== package checks"
timeout 1200 scripts/check-packages.sh
echo "== valgrind"
scripts/valgrind.sh build
scripts/build.sh build-asan -DMWS_SANITIZE=address -DCMAKE_BUILD_TYPE=Debug
ASAN_OPTIONS=detect_leaks=1 run_ctest build-asan
scripts/build.sh build-tsan -DMWS_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug
run_ctest build-tsan

for lang in python node; do
	if [ -x "scripts/test-$lang.sh" ]; then
		echo "== $lang tests"
		"scripts/test-$lang.sh"
	fi
done
echo "== all tests passed"
