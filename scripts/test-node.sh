#!/usr/bin/env bash
# The Node binding: `npm ci` in bindings/node builds the C core (CMake) and
# the addon (node-gyp against the installed Node's headers, no download),
# then node:test runs tests/node/ against the built package.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v node >/dev/null || { echo "test-node: node is not installed" >&2; exit 1; }
ulimit -n 8192 2>/dev/null || true
(cd bindings/node && npm ci --no-audit --no-fund)
node --test tests/node/
