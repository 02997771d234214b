"""``python -m managedws``: the version, or a tiny client.

    python -m managedws                 prints "managedws 0.1.0 (library 0.1.0)"
    python -m managedws URL [--send TEXT]... [--count N] [--timeout S]

With a URL it connects a managed client, prints every state change to
stderr and every received message to stdout (one per line; binary as hex),
sends each --send TEXT once connected, and exits after N messages
(default: never) or S seconds (default: never); Ctrl-C also ends it. The
exit status is 0, or 1 if the client ends FAILED.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from typing import List, Optional

import managedws


async def _run(args: argparse.Namespace) -> int:
    def on_state(ch: managedws.StateChange) -> None:
        extra = " retry in %.3fs" % ch.retry_delay if ch.new == managedws.State.RECONNECTING else ""
        print("state %s -> %s code=%d reason=%r%s" % (ch.old.name, ch.new.name, ch.close_code, ch.reason, extra),
              file=sys.stderr, flush=True)

    client = await managedws.connect(args.url, wait_open=False, on_state=on_state)
    try:
        for text in args.send:
            await client.send(text)
        received = 0

        async def read() -> None:
            nonlocal received
            async for msg in client:
                print(msg if isinstance(msg, str) else msg.hex(), flush=True)
                received += 1
                if args.count and received >= args.count:
                    return

        try:
            await asyncio.wait_for(read(), args.timeout)
        except asyncio.TimeoutError:
            pass
        except managedws.Failed as exc:
            print("failed: %s" % exc, file=sys.stderr)
            return 1
        return 0
    finally:
        await client.close()


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m managedws", description=__doc__.split("\n\n")[0])
    ap.add_argument("url", nargs="?", help="ws:// or wss:// URL; without it, print the version")
    ap.add_argument("--send", action="append", default=[], metavar="TEXT", help="send TEXT (repeatable)")
    ap.add_argument("--count", type=int, default=0, help="exit after N messages")
    ap.add_argument("--timeout", type=float, default=None, help="exit after S seconds")
    args = ap.parse_args(argv)
    if not args.url:
        print("managedws %s (library %d.%d.%d, header %d.%d.%d)"
              % ((managedws.__version__,) + managedws.LIBRARY_VERSION + managedws.HEADER_VERSION))
        return 0
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 130
    except (managedws.ManagedWSError, TypeError, ValueError) as exc:
        # One line, not a traceback: the input was wrong, not the program.
        print("python -m managedws: error: %s" % exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
