#!/usr/bin/env bash
# Installs a build into a temporary prefix and builds a consumer against it
# both ways a user would: find_package(managedws) and pkg-config.
#   scripts/check-install.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cat >"$tmp/main.c" <<'C'
#include <managedws.h>
#include <stdio.h>
int main(void)
{
	unsigned built = (MWS_VERSION_MAJOR << 16) | (MWS_VERSION_MINOR << 8) | MWS_VERSION_PATCH;
	printf("consumer: managedws %s\n", mws_version_string());
	return mws_version() == built ? 0 : 1;
}
C
cat >"$tmp/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(managedws REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE managedws::managedws)
CM
cmake -S "$tmp" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/build" >/dev/null
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/build/consumer"
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
cc "$tmp/main.c" $(pkg-config --cflags --libs managedws) -o "$tmp/consumer-pc"
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/consumer-pc"
# The tool is installed next to the library and finds it there.
if [ -d "$build/tools" ]; then
	"$tmp/prefix/bin/mws" --version
fi
# Only the public API leaves the shared library.
extra=$(nm -D --defined-only "$tmp/prefix/lib/libmanagedws.so" | awk '{print $3}' | grep -v '^mws_' || true)
if [ -n "$extra" ]; then
	echo "check-install: symbols exported outside the mws_ API: $extra" >&2
	exit 1
fi
echo "check-install: find_package, pkg-config, the installed mws and exports are fine"
