#!/usr/bin/env python3
"""Python peers for bench/run.sh: `websockets`, `picows`, and the managedws
binding, each in the roles the other peers have (see bench/README.md).

  peer.py LIB server echo|sink          LIB: websockets | picows
  peer.py LIB client URL MODE COUNT SIZE
                                         LIB: websockets | picows | managedws |
                                              managedws-batch (throughput with
                                              send_many, 1000 a call)
                                         MODE: throughput | rtt | rtt_cb

Servers print "PORT n" once listening. In sink mode a server counts binary
messages and answers a text message with the count; a throughput client
sends COUNT binary messages, then "__sync", and stops its clock at the
text answer (an echo server echoes it: the same protocol works for both).
Clients print one JSON line.
"""
from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
import time


def report(lib: str, mode: str, count: int, size: int, **fields: float) -> None:
    print(json.dumps({"client": lib, "mode": mode, "msgs": count, "size": size, **fields}), flush=True)


def sink_count(answer) -> "int | None":
    """The sink server's answer to __sync: how many messages it counted
    (an echo server echoes "__sync": None)."""
    text = answer.decode() if isinstance(answer, bytes) else str(answer)
    return int(text) if text.isdigit() else None


def rtt_fields(rtt: list) -> dict:
    rtt.sort()
    n = len(rtt)
    return {"p50_us": rtt[n // 2], "p90_us": rtt[n * 9 // 10], "p99_us": rtt[n * 99 // 100]}


async def until_signal() -> None:
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    await stop


# ---- websockets ----

async def websockets_server(mode: str) -> None:
    from websockets.asyncio.server import serve

    async def handler(ws) -> None:
        count = 0
        try:
            async for msg in ws:
                if mode == "sink" and isinstance(msg, bytes):
                    count += 1
                elif mode == "sink":
                    await ws.send(str(count))
                else:
                    await ws.send(msg)
        except Exception:
            pass

    async with serve(handler, "127.0.0.1", 0, compression=None, ping_interval=None,
                     max_size=None) as server:
        print("PORT %d" % next(iter(server.sockets)).getsockname()[1], flush=True)
        await until_signal()


async def websockets_client(url: str, mode: str, count: int, size: int) -> None:
    from websockets.asyncio.client import connect

    payload = b"x" * size
    async with connect(url, compression=None, ping_interval=None, max_size=None) as ws:
        if mode == "throughput":
            async def drain() -> str:
                async for msg in ws:
                    if isinstance(msg, str):
                        return msg
                return ""
            reader = asyncio.create_task(drain())
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(count):
                await ws.send(payload)
            await ws.send("__sync")
            counted = await asyncio.wait_for(reader, 120)
            secs, cpu = time.perf_counter() - t0, time.process_time() - c0
            report("websockets", mode, count, size, seconds=secs, msg_per_s=count / secs, cpu_s=cpu,
                   counted=sink_count(counted))
            return
        rtt = []
        for _ in range(count):
            t0 = time.perf_counter()
            await ws.send(payload)
            await ws.recv()
            rtt.append((time.perf_counter() - t0) * 1e6)
        report("websockets", "rtt", count, size, **rtt_fields(rtt))


# ---- picows ----

async def picows_server(mode: str) -> None:
    from picows import WSCloseCode, WSListener, WSMsgType, ws_create_server

    class Sink(WSListener):
        count = 0

        def on_ws_frame(self, transport, frame) -> None:
            t = frame.msg_type
            if t == WSMsgType.CLOSE:
                transport.send_close(WSCloseCode.OK)
                transport.disconnect()
            elif mode == "sink" and t == WSMsgType.BINARY:
                self.count += 1
            elif mode == "sink" and t == WSMsgType.TEXT:
                transport.send(WSMsgType.TEXT, str(self.count).encode())
            elif t in (WSMsgType.BINARY, WSMsgType.TEXT):
                transport.send(t, frame.get_payload_as_bytes())
            elif t == WSMsgType.PING:
                transport.send_pong(frame.get_payload_as_bytes())

    server = await ws_create_server(lambda _req: Sink(), "127.0.0.1", 0)
    print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
    await until_signal()
    server.close()


async def picows_client(url: str, mode: str, count: int, size: int) -> None:
    from picows import WSListener, WSMsgType, ws_connect

    payload = b"x" * size
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    rtt: list = []

    class Client(WSListener):
        def __init__(self) -> None:
            self.writable = asyncio.Event()
            self.writable.set()
            self.t0 = 0.0

        def pause_writing(self) -> None:
            self.writable.clear()

        def resume_writing(self) -> None:
            self.writable.set()

        def on_ws_frame(self, transport, frame) -> None:
            t = frame.msg_type
            if mode == "throughput":
                if t == WSMsgType.TEXT and not done.done():
                    done.set_result(frame.get_payload_as_bytes())
                return
            # rtt: the next message leaves from inside the callback.
            rtt.append((time.perf_counter() - self.t0) * 1e6)
            if len(rtt) == count:
                done.set_result(None)
                return
            self.t0 = time.perf_counter()
            transport.send(WSMsgType.BINARY, payload)

    transport, client = await ws_connect(Client, url)
    if mode == "throughput":
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(count):
            transport.send(WSMsgType.BINARY, payload)
            if not client.writable.is_set():
                await client.writable.wait()
        transport.send(WSMsgType.TEXT, b"__sync")
        counted = await asyncio.wait_for(done, 120)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        report("picows", mode, count, size, seconds=secs, msg_per_s=count / secs, cpu_s=cpu,
               counted=sink_count(counted))
    else:
        client.t0 = time.perf_counter()
        transport.send(WSMsgType.BINARY, payload)
        await asyncio.wait_for(done, 120)
        report("picows", "rtt_cb", count, size, **rtt_fields(rtt))
    transport.send_close()
    transport.disconnect()


# ---- managedws (the binding built from this checkout) ----

def managedws_client(url: str, mode: str, count: int, size: int, batch: bool = False) -> None:
    import managedws

    payload = b"x" * size
    synced = threading.Event()
    got = threading.Semaphore(0)
    rtt: list = []
    state: dict = {"t0": 0.0, "counted": None}
    client_box: list = []

    def on_message(msg) -> None:
        if mode == "throughput":
            if isinstance(msg, str):
                state["counted"] = sink_count(msg)
                synced.set()
        elif mode == "rtt":
            got.release()
        else:  # rtt_cb: the next message leaves from inside the callback
            rtt.append((time.perf_counter() - state["t0"]) * 1e6)
            if len(rtt) == count:
                synced.set()
                return
            state["t0"] = time.perf_counter()
            client_box[0].send(payload)

    client = managedws.Client(url, on_message=on_message, heartbeat_mode="OFF",
                              queue_max_messages=65536)  # bytes: the default 4 MiB, as client_bench
    client_box.append(client)
    client.connect()
    client.wait_state(managedws.State.CONNECTED, timeout=10)
    try:
        if mode == "throughput":
            t0, c0 = time.perf_counter(), time.process_time()
            if batch:
                # An application sending in a loop, with the batch API: one
                # call into the library per 1000 messages.
                chunk = [payload] * 1000
                left = count
                while left:
                    part = chunk if left >= len(chunk) else chunk[:left]
                    try:
                        client.send_many(part)
                        left -= len(part)
                    except managedws.QueueFull as e:
                        left -= e.accepted
                        client.wait_room(len(payload), 1.0)  # the library pushing back
            else:
                for _ in range(count):
                    while True:
                        try:
                            client.send(payload)
                            break
                        except managedws.QueueFull:
                            client.wait_room(len(payload), 1.0)  # the library pushing back
            while True:  # the queue may still be full: __sync waits for room too
                try:
                    client.send("__sync")
                    break
                except managedws.QueueFull:
                    client.wait_room(6, 1.0)
            if not synced.wait(120):
                raise SystemExit("managedws: no answer to __sync")
            secs, cpu = time.perf_counter() - t0, time.process_time() - c0
            name = "managedws-python-batch" if batch else "managedws-python"
            report(name, mode, count, size, seconds=secs, msg_per_s=count / secs, cpu_s=cpu,
                   counted=state["counted"])
        elif mode == "rtt":
            for _ in range(count):
                t0 = time.perf_counter()
                client.send(payload)
                if not got.acquire(timeout=60):
                    raise SystemExit("managedws: echo lost")
                rtt.append((time.perf_counter() - t0) * 1e6)
            report("managedws-python", "rtt", count, size, **rtt_fields(rtt))
        else:
            state["t0"] = time.perf_counter()
            client.send(payload)
            if not synced.wait(120):
                raise SystemExit("managedws: echo lost")
            report("managedws-python", "rtt_cb", count, size, **rtt_fields(rtt))
    finally:
        client.close()


def main(argv: list) -> int:
    lib, role = argv[1], argv[2]
    if role == "server":
        server = {"websockets": websockets_server, "picows": picows_server}[lib]
        asyncio.run(server(argv[3]))
        return 0
    url, mode, count, size = argv[3], argv[4], int(argv[5]), int(argv[6])
    if lib in ("managedws", "managedws-batch"):
        managedws_client(url, mode, count, size, batch=lib == "managedws-batch")
    else:
        client = {"websockets": websockets_client, "picows": picows_client}[lib]
        asyncio.run(client(url, mode, count, size))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
