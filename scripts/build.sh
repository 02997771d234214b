#!/usr/bin/env bash
# Configures and builds into build/ (or $1) with warnings as errors.
# Extra arguments go to CMake, e.g. scripts/build.sh build-asan -DMWS_SANITIZE=address
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMWS_WERROR=ON "$@" >/dev/null
cmake --build "$dir"
