"""Batches across the C boundary: what one pass of the I/O loop read comes
into Python in one call (on_messages, and one hand-over to asyncio), and
send_many() sends a list with one call into the library."""
from __future__ import annotations

import asyncio
import threading

import pytest

import managedws
from managedws import State

from conftest import FAST, WAIT, wait_until

BURST = 2000


def burst(ws_server, n=BURST):
    async def go():
        for ws in list(ws_server.connections):
            for i in range(n):
                await ws.send("t%d" % i if i % 2 == 0 else b"b%d" % i)

    ws_server.lt.run(go())


def expected(n=BURST):
    return ["t%d" % i if i % 2 == 0 else b"b%d" % i for i in range(n)]


def test_on_messages_gets_lists_in_order(ws_server):
    batches = []
    singles = []
    lock = threading.Lock()

    def on_messages(msgs):
        with lock:
            batches.append(list(msgs))

    with managedws.Client(ws_server.url, on_messages=on_messages, on_message=singles.append, **FAST) as c:
        c.wait_state(State.CONNECTED, timeout=WAIT)
        burst(ws_server)
        wait_until(lambda: sum(map(len, batches)) >= BURST, what="the burst")
        got = [m for b in batches for m in b]
        assert got == expected()
        assert singles == [], "on_messages replaces on_message"
        assert max(map(len, batches)) > 1, "one call per message: no batch"
        assert len(batches) < BURST


def test_on_message_still_gets_one_message_a_call(ws_server):
    got = []
    with managedws.Client(ws_server.url, on_message=got.append, **FAST) as c:
        c.wait_state(State.CONNECTED, timeout=WAIT)
        burst(ws_server, 500)
        wait_until(lambda: len(got) >= 500, what="the burst")
        assert got == expected(500)


def test_send_many_sends_in_order_and_numbers_them(ws_server):
    got = []
    with managedws.Client(ws_server.url, on_message=got.append, **FAST) as c:
        c.wait_state(State.CONNECTED, timeout=WAIT)
        first = c.send("first")
        msgs = ["a", b"b", bytearray(b"c"), memoryview(b"d"), "é", b""]
        assert c.send_many(msgs) == first + len(msgs)
        assert c.send_many([]) == 0
        assert c.send_many(iter([b"x"] * 300)) == first + len(msgs) + 300
        wait_until(lambda: len(got) >= 1 + len(msgs) + 300, what="the echoes")
        assert got[:7] == ["first", "a", b"b", b"c", b"d", "é", b""]
        assert got[7:] == [b"x"] * 300
        wide = memoryview(bytes(range(8))).cast("I")  # items wider than a byte
        c.send_many([wide])
        wait_until(lambda: len(got) >= 308, what="the wide memoryview")
        assert got[307] == bytes(range(8))


def test_send_many_stops_at_the_first_refused_message():
    c = managedws.Client("ws://127.0.0.1:9/", queue_max_messages=5, **FAST)
    try:
        with pytest.raises(managedws.QueueFull) as e:
            c.send_many([b"m"] * 8)
        assert e.value.accepted == 5
        assert c.stats().queue_messages == 5
        assert c.stats().send_number == 5
        with pytest.raises(TypeError):
            c.send_many([b"ok", 42])
        assert c.stats().send_number == 5, "nothing goes when an item cannot be sent at all"
        c.close()
        with pytest.raises(managedws.Closed):
            c.send_many([b"late"])
    finally:
        c.release()


def test_asyncio_gets_a_burst_whole_and_sends_many(ws_server):
    async def main():
        client = await asyncio.wait_for(managedws.connect(ws_server.url, **FAST), WAIT)
        try:
            await asyncio.get_running_loop().run_in_executor(None, burst, ws_server)
            got = [await asyncio.wait_for(client.recv(), WAIT) for _ in range(BURST)]
            assert got == expected()
            last = await client.send_many([b"p%d" % i for i in range(100)])
            assert last >= 100
            echoes = [await asyncio.wait_for(client.recv(), WAIT) for _ in range(100)]
            assert echoes == [b"p%d" % i for i in range(100)]
        finally:
            await client.close()

    asyncio.run(main())


def test_asyncio_send_many_waits_for_room(ws_server):
    async def main():
        client = await asyncio.wait_for(managedws.connect(ws_server.url, queue_max_messages=4, **FAST), WAIT)
        try:
            last = await asyncio.wait_for(client.send_many([b"r%d" % i for i in range(50)]), WAIT)
            echoes = [await asyncio.wait_for(client.recv(), WAIT) for _ in range(50)]
            assert echoes == [b"r%d" % i for i in range(50)]
            assert last >= 50
        finally:
            await client.close()

    asyncio.run(main())


def test_corked_sends_go_at_the_uncork_in_order(ws_server):
    got = []
    with managedws.Client(ws_server.url, on_message=got.append, **FAST) as c:
        c.wait_state(State.CONNECTED, timeout=WAIT)
        with c.corked():
            for i in range(200):
                c.send("k%d" % i)
        wait_until(lambda: len(got) >= 200, what="the corked sends")
        assert got == ["k%d" % i for i in range(200)]
    with pytest.raises(managedws.Closed):
        c.cork()


def test_asyncio_sends_of_one_iteration_all_go_in_order(ws_server):
    async def main():
        client = await asyncio.wait_for(managedws.connect(ws_server.url, queue_max_messages=10000, **FAST), WAIT)
        try:
            for i in range(3000):  # one iteration of the loop: corked throughout
                client.send_nowait(b"n%d" % i)
            echoes = [await asyncio.wait_for(client.recv(), WAIT) for _ in range(3000)]
            assert echoes == [b"n%d" % i for i in range(3000)]
            await client.send(b"one")  # alone in its iteration
            assert await asyncio.wait_for(client.recv(), WAIT) == b"one"
        finally:
            await client.close()

    asyncio.run(main())
