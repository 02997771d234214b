#!/usr/bin/env python3
"""A WebSocket peer that is not ours: the Python `websockets` package (>= 13,
new asyncio API), for interoperability tests.

It binds 127.0.0.1 (port 0 unless --port) and prints one line "PORT <n>" on
stdout once it listens, then nothing more on stdout. Per connection it
echoes every message (text as text, binary as binary) and understands these
text commands:

  __close <code> <reason>  close this connection with that code and reason
                           (reason may be empty or contain spaces)
  __headers                reply with a JSON object of the request headers
                           (names lower-cased, repeated headers joined ", ")
  __count                  reply with the number of WebSocket connections
                           accepted so far, as decimal text

Flags:
  --port N             bind this port (to come back on the same port after a
                       restart); default 0, the kernel picks
  --json-heartbeat     answer {"type":"heartbeat", ...} with
                       {"type":"heartbeat_ack","timestamp":<same>}; without
                       it such messages are echoed like any other
  --connection-ack     greet each connection with {"type":"connection_ack",
                       "connectionId":7000+n}, as JSON-protocol servers do
  --reject-status S    refuse every handshake with HTTP status S
  --no-pong            never answer pings (a peer that looks dead to
                       ping/pong heartbeats while still echoing messages)
  --ping-interval SEC  let the server ping too; off by default
  --no-compression     do not offer permessage-deflate (on by default, as
                       in websockets)
  --max-size BYTES     largest accepted message; default 64 MiB
  --close-timeout SEC  how long a close handshake may take; default 2
  --log FILE           append one JSON object per line and event:
                       connect (with headers), reject, message, close

SIGTERM and SIGINT close every connection (1001) and exit with status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Opcode


class NoPongConnection(ServerConnection):
    """websockets answers pings inside its protocol object, with no option to
    turn that off; dropping outgoing PONG frames there is the narrowest hack
    that keeps everything else (close handshake, data) untouched."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        send_frame = self.protocol.send_frame

        def send_frame_without_pongs(frame: Any) -> None:
            if frame.opcode is Opcode.PONG:
                return
            send_frame(frame)

        self.protocol.send_frame = send_frame_without_pongs  # type: ignore[method-assign]


class Peer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.accepted = 0
        self.next_id = 0
        self.log_file = open(args.log, "a", encoding="utf-8") if args.log else None

    def log(self, event: str, **fields: Any) -> None:
        if self.log_file is None:
            return
        record = {"event": event, "time": time.time(), **fields}
        self.log_file.write(json.dumps(record) + "\n")
        # Tests read the log while the server runs.
        self.log_file.flush()

    @staticmethod
    def headers_of(request: Any) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, value in request.headers.raw_items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return headers

    def process_request(self, connection: ServerConnection, request: Any) -> Any:
        if self.args.reject_status is None:
            return None
        self.log(
            "reject",
            path=request.path,
            status=self.args.reject_status,
            headers=self.headers_of(request),
        )
        return connection.respond(self.args.reject_status, "rejected by test peer\n")

    async def handler(self, ws: ServerConnection) -> None:
        self.accepted += 1
        self.next_id += 1
        conn_id = self.next_id
        headers = self.headers_of(ws.request)
        self.log("connect", id=conn_id, path=ws.request.path, headers=headers)
        if self.args.connection_ack:
            # The JSON protocol's greeting; ids start at 7001 so a test can
            # tell them from a client's own counter.
            await ws.send(json.dumps({"type": "connection_ack", "connectionId": 7000 + conn_id}))
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    self.log("message", id=conn_id, type="binary", length=len(message))
                    await ws.send(message)
                    continue
                self.log("message", id=conn_id, type="text", length=len(message), data=message[:1000])
                await self.on_text(ws, message, headers)
        except ConnectionClosed:
            pass
        finally:
            self.log(
                "close",
                id=conn_id,
                code=ws.close_code,
                reason=ws.close_reason,
            )

    async def on_text(self, ws: ServerConnection, message: str, headers: dict[str, str]) -> None:
        if message.startswith("__close"):
            parts = message.split(" ", 2)
            try:
                code = int(parts[1]) if len(parts) > 1 else 1000
            except ValueError:
                code = 1000
            reason = parts[2] if len(parts) > 2 else ""
            await ws.close(code, reason)
            return
        if message == "__headers":
            await ws.send(json.dumps(headers))
            return
        if message == "__count":
            await ws.send(str(self.accepted))
            return
        if self.args.json_heartbeat:
            try:
                obj = json.loads(message)
            except ValueError:
                obj = None
            if isinstance(obj, dict) and obj.get("type") == "heartbeat":
                await ws.send(json.dumps({"type": "heartbeat_ack", "timestamp": obj.get("timestamp")}))
                return
        await ws.send(message)


async def main(args: argparse.Namespace) -> int:
    peer = Peer(args)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))

    async with serve(
        peer.handler,
        "127.0.0.1",
        args.port,
        process_request=peer.process_request,
        create_connection=NoPongConnection if args.no_pong else None,
        ping_interval=args.ping_interval,
        compression=None if args.no_compression else "deflate",
        max_size=args.max_size,
        close_timeout=args.close_timeout,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        sys.stdout.write(f"PORT {port}\n")
        sys.stdout.flush()
        await stop
        # Leaving the block closes the listener and every connection (1001),
        # each bounded by close_timeout.
    if peer.log_file is not None:
        peer.log_file.close()
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--json-heartbeat", action="store_true")
    ap.add_argument("--connection-ack", action="store_true")
    ap.add_argument("--reject-status", type=int, default=None)
    ap.add_argument("--no-pong", action="store_true")
    ap.add_argument("--ping-interval", type=float, default=None)
    ap.add_argument("--no-compression", action="store_true")
    ap.add_argument("--max-size", type=int, default=64 * 1024 * 1024)
    ap.add_argument("--close-timeout", type=float, default=2.0)
    ap.add_argument("--log", default=None)
    return ap.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args(sys.argv[1:]))))
