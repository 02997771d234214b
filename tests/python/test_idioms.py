"""The idioms of issue 12: per-connection iteration, on_open before the
offline queue, the queue switched off or cleared, logging, own contexts,
errors that explain themselves."""
from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import threading

import pytest

import managedws
from managedws import State

from conftest import FAST, WAIT, WsServer, wait_until


def run(coro):
    errors = []

    async def main():
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: errors.append(ctx))
        return await asyncio.wait_for(coro, 60)

    result = asyncio.run(main())
    assert not errors, errors
    return result


# ---- 6: async for conn in connect(url) ----

def test_async_for_runs_once_per_connection_and_goes_on_after_reconnect(ws_server):
    async def main():
        loop = asyncio.get_running_loop()
        seen = []
        async for conn in managedws.connect(ws_server.url, **FAST):
            seen.append(conn.number)
            await conn.send("hello %d" % conn.number)
            async for msg in conn:
                assert msg == "hello %d" % conn.number
                break
            if conn.number == 1:
                await loop.run_in_executor(None, ws_server.stop)
                async for _ in conn:  # ends when this connection ends
                    pass
                assert not conn.open
                await loop.run_in_executor(None, ws_server.start)
            else:
                await conn.client.close()
        assert seen == [1, 2]

    run(main())


def test_connect_waits_for_the_first_connection_without_a_default_timeout(loop_thread):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there yet

    async def main():
        loop = asyncio.get_running_loop()
        server = WsServer(loop_thread)
        server.port = port
        opening = asyncio.ensure_future(managedws.connect("ws://127.0.0.1:%d/" % port, **FAST))
        changes = []

        def failed_once():
            return False

        await asyncio.sleep(0)  # the client is trying; nothing listens
        await loop.run_in_executor(None, server.start)
        client = await asyncio.wait_for(opening, WAIT)
        assert client.state == State.CONNECTED
        await client.close()
        await loop.run_in_executor(None, server.stop)
        del changes, failed_once

    run(main())
    import inspect
    assert inspect.signature(managedws.connect).parameters["open_timeout"].default is None


# ---- 7: on_open before the offline queue; the queue off or cleared ----

def test_sync_on_open_sends_before_the_offline_queue(ws_server):
    got = []
    client = managedws.Client(ws_server.url, on_open=lambda c: c.send("resubscribe"),
                              on_message=got.append, **FAST)
    try:
        client.send("queued 1")
        client.send("queued 2")
        client.connect()
        wait_until(lambda: len(got) >= 3, what="three echoes")
        assert got == ["resubscribe", "queued 1", "queued 2"]
    finally:
        client.close()
        client.release()


def test_async_on_open_runs_before_the_offline_queue_is_flushed(ws_server):
    async def main():
        async def on_open(client):
            await asyncio.sleep(0.05)  # work on the loop; the queue waits for it
            await client.send("resubscribe")

        client = managedws.AsyncClient(ws_server.url, on_open=on_open, **FAST)
        try:
            await client.send("queued")  # offline: waits for the connection
            client.connect()
            got = [await asyncio.wait_for(client.recv(), WAIT) for _ in range(2)]
            assert got == ["resubscribe", "queued"]
        finally:
            await client.close()

    run(main())


def test_offline_queue_off_refuses_sends_while_away(ws_server):
    client = managedws.Client(ws_server.url, offline_queue=False, **FAST)
    try:
        with pytest.raises(managedws.InvalidState):
            client.send("nobody is there")
        client.connect()
        client.wait_state(State.CONNECTED, timeout=WAIT)
        client.send("now")
        wait_until(lambda: ws_server.received == ["now"], what="the live send")
    finally:
        client.close()
        client.release()


def test_clear_queue_drops_what_was_sent_before(ws_server):
    got = []
    client = managedws.Client(ws_server.url, on_message=got.append, **FAST)
    try:
        client.send("stale 1")
        client.send("stale 2")
        client.clear_queue()
        client.send("fresh")
        client.connect()
        wait_until(lambda: got, what="an echo")
        assert got[0] == "fresh"
        wait_until(lambda: client.stats().msgs_discarded == 2, what="two discarded")
    finally:
        client.close()
        client.release()


# ---- 9: logging ----

def test_state_changes_are_logged_info_and_failed_attempts_warning(ws_server, caplog):
    caplog.set_level(logging.INFO, logger="managedws")
    dead = managedws.Client("ws://127.0.0.1:9/", max_attempts=1, **FAST)
    live = managedws.Client(ws_server.url, **FAST)
    try:
        dead.connect()
        live.connect()
        live.wait_state(State.CONNECTED, timeout=WAIT)
        with pytest.raises(managedws.Failed):
            dead.wait_state(State.CONNECTED, timeout=WAIT)
    finally:
        for c in (dead, live):
            c.close()
            c.release()
    recs = [r for r in caplog.records if r.name == "managedws"]
    assert any(r.levelno == logging.INFO and "-> CONNECTED" in r.getMessage() and ws_server.url in r.getMessage()
               for r in recs), [r.getMessage() for r in recs]
    assert any(r.levelno == logging.WARNING and "127.0.0.1:9" in r.getMessage() for r in recs)


# ---- 11: own context ----

def test_own_context_is_not_stalled_by_a_blocked_callback_elsewhere(ws_server):
    release = threading.Event()
    blocked = threading.Event()

    def stuck(msg):
        blocked.set()
        release.wait(WAIT)

    shared = managedws.Client(ws_server.url, on_message=stuck, **FAST)
    got = []
    own = managedws.Client(ws_server.url, on_message=got.append, own_context=True, **FAST)
    try:
        shared.connect()
        shared.wait_state(State.CONNECTED, timeout=WAIT)
        shared.send("block")
        assert blocked.wait(WAIT)  # the shared I/O thread is now stuck
        own.connect()
        own.wait_state(State.CONNECTED, timeout=WAIT)
        own.send("still moving")
        wait_until(lambda: got == ["still moving"], what="the own-context echo")
    finally:
        release.set()
        for c in (own, shared):
            c.close()
            c.release()


def test_own_context_server_round_trip():
    got = []
    with managedws.Server(0, iface="127.0.0.1", own_context=True,
                          on_message=lambda conn, m: got.append(m)) as srv:
        with managedws.Client("ws://127.0.0.1:%d/" % srv.port, **FAST) as c:
            c.send("hi")
            wait_until(lambda: got == ["hi"], what="the message")


# ---- 12: errors that explain themselves ----

@pytest.mark.parametrize("url, words", [
    ("http://example.com/", "scheme 'http'"),
    ("example.com", "ws:// or wss://"),
    ("ws://host:99999/", "port '99999'"),
    ("ws://user:pw@host/", "user:password@"),
    ("ws://ho st/", "' '"),
])
def test_url_errors_say_what_is_wrong(url, words):
    with pytest.raises(managedws.InvalidArgument) as ei:
        managedws.Client(url)
    assert words in str(ei.value)


def test_option_errors_name_the_option():
    with pytest.raises(TypeError, match="max_delay.*seconds expected"):
        managedws.Client("ws://127.0.0.1:9/", max_delay="soon")
    with pytest.raises(TypeError, match="did you mean max_delay"):
        managedws.Client("ws://127.0.0.1:9/", max_dealy=1)
    with pytest.raises(managedws.InvalidArgument, match="jitter_proportion"):
        managedws.Client("ws://127.0.0.1:9/", jitter_proportion=-1)


def test_exceptions_show_as_managedws():
    assert managedws.QueueFull.__module__ == "managedws"
    assert repr(managedws.Closed("x")) == "Closed('x')"
    assert "managedws.InvalidArgument" in str(managedws.InvalidArgument)


def test_module_cli_prints_one_line_on_bad_input():
    p = subprocess.run([sys.executable, "-m", "managedws", "http://nope/"], capture_output=True, text=True,
                       timeout=WAIT * 3)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "scheme 'http'" in lines[0], p.stderr


# ---- 8 (in part): send() waits while the queue is full; drain() ----

def test_async_send_waits_for_room_instead_of_raising(ws_server):
    async def main():
        client = managedws.AsyncClient(ws_server.url, queue_max_messages=2, **FAST)
        try:
            await client.send("1")
            await client.send("2")
            with pytest.raises(managedws.QueueFull):
                await client.send("3", timeout=0.05)  # nobody connected: no room comes
            client.connect()
            await client.send("3", timeout=WAIT)  # room once the queue drains
            await client.drain(timeout=WAIT)
            assert client.stats().queue_messages == 0
            got = [await asyncio.wait_for(client.recv(), WAIT) for _ in range(3)]
            assert got == ["1", "2", "3"]
        finally:
            await client.close()

    run(main())


def test_bounded_receive_buffer_pauses_reading(ws_server):
    n, size = 60, 32 * 1024  # large enough that one socket read cannot hold them all

    async def main():
        client = managedws.AsyncClient(ws_server.url, max_queue=4, **FAST)
        try:
            client.connect()
            await client.wait_state(State.CONNECTED, timeout=WAIT)
            for i in range(n):
                await client.send(("%d:" % i).ljust(size, "x"))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + WAIT
            while not client._rx_paused:
                assert loop.time() < deadline, "reading never paused"
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)  # a bounded look for what must not happen
            assert client._rx_paused
            assert client.stats().msgs_in < n
            got = [await asyncio.wait_for(client.recv(), WAIT) for _ in range(n)]
            assert [m.split(":", 1)[0] for m in got] == [str(i) for i in range(n)]
            assert not client._rx_paused
        finally:
            await client.close()

    run(main())
