"""A round trip through an INSTALLED managedws package.

scripts/check-packages.sh runs it with the python of a fresh virtual
environment, from a temporary folder outside the repository: a Server and a
Client of the package exchange a text and a binary message on 127.0.0.1.

    python roundtrip.py [--expect-version X.Y.Z] [--vendored]

--expect-version: the installed distribution's metadata and the loaded C
library must both say X.Y.Z.

--vendored (the repaired wheel): libwebsockets and cJSON must be the copies
shipped in the wheel (managedws.libs/), never the system's; checked in
/proc/self/maps, where the dynamic loader shows what it really mapped.
Prints one line and exits 0, or says what went wrong and exits 1.
"""
import argparse
import importlib.metadata
import pathlib
import sys
import threading

import managedws

WAIT = 10.0  # seconds, the bound of every wait here


def fail(why: str) -> None:
    print("roundtrip.py: " + why, file=sys.stderr)
    sys.exit(1)


def mapped_libraries() -> dict:
    """{library name: set of paths mapped} for libwebsockets and libcjson."""
    found: dict = {"libwebsockets": set(), "libcjson": set()}
    with open("/proc/self/maps", encoding="utf-8") as f:
        for line in f:
            path = line.split()[-1]
            name = pathlib.Path(path).name
            for lib in found:
                if name.startswith(lib + "-") or name.startswith(lib + ".so"):
                    found[lib].add(path)
    return found


def round_trip() -> None:
    replies: list = []
    got_both = threading.Event()

    def on_reply(message) -> None:
        replies.append(message)
        if len(replies) == 2:
            got_both.set()

    srv = managedws.Server(port=0, iface="127.0.0.1",
                           on_message=lambda conn, message: srv.send(conn, message))
    with srv:
        with managedws.Client(srv.url, on_message=on_reply) as client:
            client.send("hello through the package")
            client.send(b"\x00\x01binary")
            if not got_both.wait(WAIT):
                fail("no echo within %.0f s (got %r)" % (WAIT, replies))
    if replies != ["hello through the package", b"\x00\x01binary"]:
        fail("echo differs: %r" % (replies,))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--expect-version")
    ap.add_argument("--vendored", action="store_true")
    args = ap.parse_args()
    pkg = pathlib.Path(managedws.__file__).resolve().parent
    if "site-packages" not in pkg.parts:
        fail("imported managedws from %s, not from an installed package" % pkg)
    if args.expect_version:
        versions = {"metadata": importlib.metadata.version("managedws"), "C library": managedws.__version__}
        for what, v in versions.items():
            if v != args.expect_version:
                fail("the %s says %s, expected %s" % (what, v, args.expect_version))
    round_trip()
    libs = mapped_libraries()
    if args.vendored:
        vendored = pkg.parent / "managedws.libs"
        for lib, paths in libs.items():
            if not paths:
                fail("%s is not mapped at all" % lib)
            outside = [p for p in paths if pathlib.Path(p).parent != vendored]
            if outside:
                fail("%s loaded from outside the wheel: %s" % (lib, ", ".join(sorted(outside))))
    where = "; ".join("%s=%s" % (k, ",".join(sorted(v)) or "-") for k, v in libs.items())
    print("roundtrip.py: managedws %s from %s: echo ok; %s" % (managedws.__version__, pkg, where))


if __name__ == "__main__":
    main()
