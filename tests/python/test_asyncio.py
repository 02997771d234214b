"""The asyncio face: managedws.connect(), async for, wait_state()."""
from __future__ import annotations

import asyncio

import pytest

import managedws
from managedws import State

from conftest import FAST, WAIT


def run(coro):
    """Runs coro in a fresh loop that fails the test on any unhandled loop error."""
    errors = []

    async def main():
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: errors.append(ctx))
        return await asyncio.wait_for(coro, 60)

    result = asyncio.run(main())
    assert not errors, errors
    return result


def test_ten_thousand_messages_in_order(ws_server):
    n = 10_000

    async def main():
        async with managedws.connect(ws_server.url, queue_max_messages=n, **FAST) as client:
            assert client.state == State.CONNECTED
            for i in range(n):
                await client.send(str(i) if i % 2 else i.to_bytes(4, "big"))
            got = 0
            async for msg in client:
                expect = str(got) if got % 2 else got.to_bytes(4, "big")
                assert msg == expect, (got, msg)
                got += 1
                if got == n:
                    break
            return got

    assert run(main()) == n
    assert len(ws_server.received) == n


def test_cancelling_wait_state_leaves_no_callback(ws_server):
    async def main():
        client = await managedws.connect(ws_server.url, **FAST)
        task = asyncio.ensure_future(client.wait_state(State.FAILED))
        while not client._state_waiters:  # registered
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert client._state_waiters == []
        # with a timeout too
        with pytest.raises(managedws.Timeout):
            await client.wait_state(State.RECONNECTING, timeout=0.01)
        assert client._state_waiters == []
        # A later transition finds nothing stale to resolve (the loop's
        # exception handler would report an InvalidStateError).
        client.disconnect()
        await client.wait_state(State.DISCONNECTED, timeout=WAIT)
        recv = asyncio.ensure_future(client.recv())
        await asyncio.sleep(0)
        recv.cancel()
        with pytest.raises(asyncio.CancelledError):
            await recv
        assert client._recv_waiters == []
        await client.close()
        assert client.state == State.CLOSED

    run(main())


def test_async_for_ends_on_close_and_raises_on_failed(ws_server, make_ws_server):
    async def main():
        async with managedws.connect(ws_server.url, **FAST) as client:
            await client.send("one")
            await client.send("two")
            got = []
            async for msg in client:
                got.append(msg)
                if len(got) == 2:
                    client._client.close()  # close from "elsewhere"
            assert got == ["one", "two"]  # then iteration ended
            assert client.state == State.CLOSED

        # The handshake succeeds, then the server closes with 1008.
        bad = make_ws_server("close1008")
        async with managedws.connect(bad.url, **FAST) as client:
            with pytest.raises(managedws.Failed) as ei:
                async for _ in client:
                    pass
            assert ei.value.close_code == 1008
            assert client.state == State.FAILED
            with pytest.raises(managedws.Failed):
                await client.wait_state(State.CONNECTED)
        assert client.state == State.CLOSED

    run(main())


def test_connect_timeout_when_nothing_listens():
    async def main():
        with pytest.raises(managedws.Timeout):
            await managedws.connect("ws://127.0.0.1:9/", open_timeout=0.3, **FAST)

    run(main())


def test_restart_with_async_client(ws_server):
    async def main():
        changes = []
        async with managedws.connect(ws_server.url, on_state=changes.append, **FAST) as client:
            await client.send("a")
            assert await client.recv() == "a"
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, ws_server.stop)
            await client.wait_state(State.RECONNECTING, State.CONNECTING, timeout=WAIT)
            for i in range(10):
                await client.send("q%d" % i)
            await loop.run_in_executor(None, ws_server.start)
            await client.wait_state(State.CONNECTED, timeout=WAIT)
            got = [await client.recv() for _ in range(10)]
            assert got == ["q%d" % i for i in range(10)]
            assert client.stats().reconnects == 1
        assert [c.new for c in changes][:2] == [State.CONNECTING, State.CONNECTED]
        assert changes[-1].new == State.CLOSED
        assert ws_server.received == ["a"] + ["q%d" % i for i in range(10)]

    run(main())


def test_async_on_state_may_be_a_coroutine(ws_server):
    async def main():
        seen = []

        async def on_state(ch):
            await asyncio.sleep(0)
            seen.append(ch.new)

        async with managedws.connect(ws_server.url, on_state=on_state, **FAST):
            for _ in range(100):
                if State.CONNECTED in seen:
                    break
                await asyncio.sleep(0.01)
        assert State.CONNECTED in seen

    run(main())
