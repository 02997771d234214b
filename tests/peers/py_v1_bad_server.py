#!/usr/bin/env python3
"""A server that selects mws.v1 (Mws-Protocol marker too) and then misbehaves, for the client's
protocol-error tests. Python `websockets` with msgpack written by hand.

Binds 127.0.0.1 port 0, prints "PORT <n>" once it listens. Per connection
it waits for the client's hello, then, by --mode:

  garbage   sends 0xc1 (not msgpack)                 -> client closes 4002
  text      sends a welcome, then a text frame        -> client closes 4003
  unknown   sends [99]                                -> client closes 4003
  gap       sends a welcome, then data numbered 5     -> client closes 4004
  twice     sends a welcome twice                     -> client closes 4003

The close code it received is written to stderr as "CLOSE <code>".
SIGTERM ends it with status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

WELCOME = bytes([0x95, 0x02, 0xC4, 0x10]) + bytes(range(16)) + bytes([0xC2, 0x00, 0xCE, 0x00, 0x01, 0xD4, 0xC0])
BAD = {
    "garbage": [b"\xc1"],
    "text": [WELCOME, "not an envelope"],
    "unknown": [b"\x91\x63"],
    "gap": [WELCOME, bytes([0x93, 0x03, 0x05, 0xC4, 0x01, 0x78])],
    "twice": [WELCOME, WELCOME],
}


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=sorted(BAD), required=True)
    args = ap.parse_args()

    async def handler(ws: ServerConnection) -> None:
        try:
            await asyncio.wait_for(ws.recv(), 5)  # the hello
            for msg in BAD[args.mode]:
                await ws.send(msg)
            await asyncio.wait_for(ws.wait_closed(), 5)
        except (ConnectionClosed, asyncio.TimeoutError):
            pass
        code = ws.close_code
        sys.stderr.write(f"CLOSE {code}\n")

    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    def marker(connection, request, response):  # docs/PROTOCOL.md section 1
        response.headers["Mws-Protocol"] = "mws.v1"
        return response

    async with serve(handler, "127.0.0.1", 0, subprotocols=["mws.v1"], compression=None,
                     process_response=marker) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        sys.stdout.write(f"PORT {port}\n")
        sys.stdout.flush()
        await stop
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
