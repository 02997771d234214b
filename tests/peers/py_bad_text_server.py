#!/usr/bin/env python3
"""A `websockets` server that sends invalid UTF-8 in a text frame, for the
UTF-8 tests of our client. It binds 127.0.0.1 on a free port, prints
"PORT <n>" once it listens, then on each connection sends one text frame
holding the bytes of --payload (hex; default: a valid prefix and then
0xED 0xA0 0x80, an encoded surrogate that RFC 3629 forbids) and waits for
the close. With --log FILE it appends one line per connection:
"close <code> <reason>" with what the client closed with.

SIGTERM and SIGINT stop it with status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


async def main(args: argparse.Namespace) -> int:
    payload = bytes.fromhex(args.payload)

    async def handler(ws: ServerConnection) -> None:
        try:
            # websockets does not check bytes sent with text=True.
            await ws.send(payload, text=True)
            async for _ in ws:
                pass
        except ConnectionClosed:
            pass
        if args.log:
            with open(args.log, "a", encoding="utf-8") as f:
                f.write(f"close {ws.close_code} {ws.close_reason}\n")

    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with serve(handler, "127.0.0.1", 0, compression=None, close_timeout=2) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        sys.stdout.write(f"PORT {port}\n")
        sys.stdout.flush()
        await stop
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--payload", default="cebae1bdb9cf83cebcceb5eda080")
    ap.add_argument("--log", default=None)
    sys.exit(asyncio.run(main(ap.parse_args())))
