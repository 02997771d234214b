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
