#!/usr/bin/env bash
# The main job: a live demonstration of reconnection on 127.0.0.1 (`mws demo`).
# Installs what is missing, builds, then runs the demo; its exit status says
# whether every act behaved as expected.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh build
exec build/tools/mws demo "$@"
