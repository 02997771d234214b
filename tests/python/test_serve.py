"""managedws.serve(): an asyncio server, one coroutine per connection, with
the `websockets` client as the peer."""
from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

import managedws

from conftest import WAIT


def run(coro):
    errors = []

    async def main():
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: errors.append(ctx))
        return await asyncio.wait_for(coro, 60)

    result = asyncio.run(main())
    assert not errors, errors
    return result


def test_one_coroutine_per_connection_messages_in_order():
    async def handler(conn):
        async for msg in conn:
            await conn.send("%s:%s" % (conn.request_headers["x-who"], msg))

    async def main():
        async with managedws.serve(handler, "127.0.0.1", 0, capture_headers=("X-Who",)) as server:
            async with ws_connect(server.url, additional_headers={"X-Who": "a"}) as a, \
                    ws_connect(server.url, additional_headers={"X-Who": "b"}) as b:
                for i in range(50):
                    await a.send(str(i))
                    await b.send(str(i))
                got_a = [await asyncio.wait_for(a.recv(), WAIT) for _ in range(50)]
                got_b = [await asyncio.wait_for(b.recv(), WAIT) for _ in range(50)]
            assert got_a == ["a:%d" % i for i in range(50)]
            assert got_b == ["b:%d" % i for i in range(50)]

    run(main())


def test_handler_return_closes_and_raise_closes_with_1011():
    async def handler(conn):
        msg = await conn.recv()
        if msg == "boom":
            raise RuntimeError("handler failed")

    async def main():
        async with managedws.serve(handler, "127.0.0.1", 0) as server:
            for text, code in (("bye", 1000), ("boom", 1011)):
                async with ws_connect(server.url) as ws:
                    await ws.send(text)
                    with pytest.raises(ConnectionClosed) as ei:
                        await asyncio.wait_for(ws.recv(), WAIT)
                    assert ei.value.rcvd.code == code

    run(main())


def test_shutdown_from_asyncio_does_not_block_the_loop():
    ended = []

    async def handler(conn):
        async for _ in conn:
            pass
        ended.append(conn.close_code)

    async def main():
        server = await managedws.serve(handler, "127.0.0.1", 0)
        async with ws_connect(server.url) as ws:
            await ws.send("x")
            # The peer runs on this very loop: the close handshake completes
            # in time (True) only if shutdown() leaves the loop running.
            ok = await server.shutdown(code=1012, deadline=5.0)
            assert ok
            with pytest.raises(ConnectionClosed) as ei:
                await asyncio.wait_for(ws.recv(), WAIT)
            assert ei.value.rcvd.code == 1012
        await asyncio.wait_for(server.wait_closed(), WAIT)
        assert ended == [1012]

    run(main())


def test_max_queue_pauses_reading_the_socket_and_resumes_in_order():
    n, pad = 4000, "x" * (16 * 1024 - 8)  # 64 MiB: more than loopback buffers take

    async def main():
        release = asyncio.Event()
        conns, got = [], []

        async def handler(conn):
            conns.append(conn)
            await release.wait()
            async for msg in conn:
                got.append(int(msg[:8]))
                if len(got) == n:
                    break

        async def until(pred):
            for _ in range(int(WAIT * 100)):
                if pred():
                    return
                await asyncio.sleep(0.01)
            raise AssertionError("condition not reached")

        async with managedws.serve(handler, "127.0.0.1", 0, max_queue=4) as server:
            async with ws_connect(server.url, max_size=None) as ws:
                async def sender():
                    for i in range(n):
                        await ws.send("%08d%s" % (i, pad))

                task = asyncio.create_task(sender())
                await until(lambda: server.stats().paused_connections == 1)
                # The pause applies on the I/O thread, which may have read
                # more meanwhile; from then on nothing more is read, and
                # 64 MiB cannot all leave while the server does not read.
                await asyncio.sleep(0.5)
                held = len(conns[0]._messages)
                done, _ = await asyncio.wait({task}, timeout=1.0)
                assert not done, "the client sent everything to a paused server"
                assert len(conns[0]._messages) == held, "read on while paused"
                assert held < n // 2
                release.set()
                await asyncio.wait_for(task, WAIT * 3)
                await until(lambda: len(got) == n)
                assert server.stats().paused_connections == 0
        assert got == list(range(n))

    run(main())


def test_server_pause_rx_validates_and_stale_ids_are_closed():
    with managedws.Server(port=0, iface="127.0.0.1") as srv:
        with pytest.raises(managedws.Closed):
            srv.pause_rx(12345)
    with pytest.raises(TypeError):
        asyncio.run(managedws.serve(lambda c: None, "127.0.0.1", 0, max_queue=0)._start())
