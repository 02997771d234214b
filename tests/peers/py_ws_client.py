#!/usr/bin/env python3
"""A WebSocket client that is not ours (Python `websockets`), speaking the
JSON heartbeat protocol against a managedws server.

  py_ws_client.py URL [--heartbeat-ms N] [--alive-ms N] [--origin O]

Expects {"type":"connection_ack",...} first, sends a heartbeat and checks
the heartbeat_ack (same timestamp), checks that a text and a binary message
come back echoed, then:
  without --alive-ms: closes with 1000 "done";
  with --alive-ms: keeps sending only JSON heartbeats every --heartbeat-ms
  for that long (no other traffic), then goes silent (its library still
  answers pings unless the server sends none) and waits for the server to
  close the connection.
Prints one JSON object on stdout and exits 0 if every check passed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


async def run(args: argparse.Namespace) -> dict:
    out: dict = {"ok": False}
    headers = {"Origin": args.origin} if args.origin else None
    async with connect(args.url, additional_headers=headers, ping_interval=None,
                       compression=None, open_timeout=5) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        out["ack_type"] = first.get("type")
        out["connection_id"] = first.get("connectionId")
        ts = int(time.time() * 1000)
        await ws.send(json.dumps({"type": "heartbeat", "timestamp": ts, "connectionId": "x"}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
        out["hb_ack_ok"] = ack.get("type") == "heartbeat_ack" and ack.get("timestamp") == ts
        await ws.send("hello")
        out["text_echo_ok"] = await asyncio.wait_for(ws.recv(), 5) == "hello"
        await ws.send(b"\x00\x01\x02")
        out["binary_echo_ok"] = await asyncio.wait_for(ws.recv(), 5) == b"\x00\x01\x02"
        checks = out["ack_type"] == "connection_ack" and out["hb_ack_ok"] and \
            out["text_echo_ok"] and out["binary_echo_ok"]
        if args.alive_ms is None:
            await ws.close(1000, "done")
            out["ok"] = bool(checks)
            return out
        end = time.monotonic() + args.alive_ms / 1000
        acks = 0
        last_sent = time.monotonic()
        while time.monotonic() < end:
            last_sent = time.monotonic()
            await ws.send(json.dumps({"type": "heartbeat", "timestamp": int(time.time() * 1000)}))
            msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
            acks += msg.get("type") == "heartbeat_ack"
            await asyncio.sleep(args.heartbeat_ms / 1000)
        out["hb_acks"] = acks
        out["alive_until_silence"] = True
        # Silence starts with the last heartbeat sent, not after the pause
        # that follows it (which a loaded machine stretches).
        silent_at = last_sent
        try:
            await asyncio.wait_for(ws.recv(), 30)
        except ConnectionClosed as e:
            out["close_code"] = e.rcvd.code if e.rcvd else None
            out["close_reason"] = e.rcvd.reason if e.rcvd else None
        out["closed_after_silence_ms"] = int((time.monotonic() - silent_at) * 1000)
        out["ok"] = bool(checks)
        return out


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--heartbeat-ms", type=int, default=200)
    p.add_argument("--alive-ms", type=int)
    p.add_argument("--origin")
    args = p.parse_args()
    try:
        out = asyncio.run(run(args))
    except Exception as e:  # reported, not raised: the C test reads stdout
        out = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out), flush=True)
    return 0 if out.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
