"""managedws.Server, and managedws.Client against it (both ends ours)."""
from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time

import pytest

import managedws
from managedws import State

from conftest import FAST, WAIT, Collector, FaultProxy, wait_until


class Echo:
    """Server callbacks recording everything; echoes unless told not to."""

    def __init__(self, echo: bool = True) -> None:
        self.echo = echo
        self.srv = None
        self.connected = []
        self.tokens = []
        self.messages = []
        self.disconnects = []
        self.lock = threading.Lock()

    def on_auth(self, info):
        # Headers are read at the handshake: an mws.v1 session's on_connect
        # comes with its hello, when the request is gone.
        with self.lock:
            self.tokens.append(info.header("X-Token"))
        return 0

    def on_connect(self, conn, info):
        with self.lock:
            self.connected.append((conn, info.path))

    def on_message(self, conn, msg):
        with self.lock:
            self.messages.append((conn, msg))
        if self.echo:
            self.srv.send(conn, msg)

    def on_disconnect(self, conn, code, reason, why):
        with self.lock:
            self.disconnects.append((conn, code, why))


def make_server(echo: Echo, **kw) -> managedws.Server:
    srv = managedws.Server(iface="127.0.0.1", on_auth=echo.on_auth, on_connect=echo.on_connect,
                           on_message=echo.on_message,
                           on_disconnect=echo.on_disconnect, **kw)
    echo.srv = srv
    return srv


@pytest.fixture
def echo_server():
    echo = Echo()
    srv = make_server(echo)
    yield srv, echo
    srv.close()


def test_text_and_binary_both_ways(echo_server, collector: Collector):
    srv, echo = echo_server
    with managedws.Client(srv.url + "chat?room=1", on_message=collector.on_message,
                          headers={"X-Token": "t0k"}, **FAST) as c:
        c.wait_state(State.CONNECTED, timeout=WAIT)
        c.send("héllo")
        c.send(b"\x00\xff")
        wait_until(lambda: len(collector.messages) == 2, what="echoes")
        assert collector.messages == ["héllo", b"\x00\xff"]
        assert [m for _, m in echo.messages] == ["héllo", b"\x00\xff"]
        conn, path = echo.connected[0]
        assert path == "/chat?room=1" and echo.tokens == ["t0k"]
        srv.broadcast("to all")
        srv.send(conn, b"to one")
        wait_until(lambda: len(collector.messages) == 4, what="server messages")
        assert collector.messages[2:] == ["to all", b"to one"]
        st = srv.stats()
        assert st.connections == 1 and st.accepted == 1 and st.msgs_in == 2
    wait_until(lambda: echo.disconnects, what="on_disconnect")
    assert echo.disconnects[0][0] == conn
    assert echo.disconnects[0][2] == managedws.DisconnectReason.PEER_CLOSED
    with pytest.raises(managedws.Closed):
        srv.send(conn, "stale id")


def test_server_restart_reconnects_and_delivers_queued_once_in_order(our_server_process, collector: Collector):
    srv = our_server_process
    c = managedws.Client(srv.url, on_message=collector.on_message, on_state=collector.on_state, **FAST)
    c.connect()
    c.wait_state(State.CONNECTED, timeout=WAIT)
    c.send("before")
    wait_until(lambda: collector.messages == ["before"], what="the first echo")
    assert srv.stop() == 0  # graceful: 1012 with a retry-after hint
    c.wait_state(State.RECONNECTING, State.CONNECTING, timeout=WAIT)
    queued = ["q%d" % i for i in range(100)]
    for m in queued:
        c.send(m)
    srv.start()  # same port, new process
    c.wait_state(State.CONNECTED, timeout=WAIT)
    wait_until(lambda: len(collector.messages) == 101, what="the queued messages echoed")
    assert collector.messages[1:] == queued  # each once, in order
    assert c.stats().reconnects == 1
    drop = [ch for ch in collector.changes if ch.old == State.CONNECTED][0]
    # 1012 reaches a libwebsockets 4.1 client as 1002; our server repeats the code in the reason.
    assert drop.close_code == 1012 or (drop.close_code == 1002 and "code=1012" in drop.reason), drop
    c.close()
    c.wait_state(State.CLOSED, timeout=WAIT)
    assert len(collector.messages) == 101  # nothing twice


def test_graceful_shutdown_then_clients_come_back(our_server_process):
    srv = our_server_process
    clients = [managedws.Client(srv.url, **FAST) for _ in range(5)]
    for c in clients:
        c.connect()
    for c in clients:
        c.wait_state(State.CONNECTED, timeout=WAIT)
    assert srv.stop() == 0
    for c in clients:
        c.wait_state(State.RECONNECTING, State.CONNECTING, timeout=WAIT)
    srv.start()
    try:
        for c in clients:
            c.wait_state(State.CONNECTED, timeout=WAIT)
        assert all(c.stats().reconnects == 1 for c in clients)
    finally:
        for c in clients:
            c.release()


def test_graceful_shutdown_in_process(collector: Collector):
    e = Echo()
    srv = make_server(e)
    c = managedws.Client(srv.url, on_state=collector.on_state, **dict(FAST, restart_spread=5))
    c.connect()
    c.wait_state(State.CONNECTED, timeout=WAIT)
    assert srv.shutdown(code=1012, spread=0.1, deadline=5.0) is True
    assert srv.stats().shutting_down
    c.wait_state(State.RECONNECTING, timeout=WAIT)
    wait_until(lambda: e.disconnects, what="on_disconnect")
    assert e.disconnects[0][2] == managedws.DisconnectReason.SHUTDOWN
    c.release()
    srv.close()


def test_server_closes_with_1008_client_fails(collector: Collector):
    e = Echo()
    srv = managedws.Server(iface="127.0.0.1",
                           on_connect=lambda conn, info: srv.close_connection(conn, 1008, "policy"))
    try:
        c = managedws.Client(srv.url, on_state=collector.on_state, **FAST)
        c.connect()
        c.wait_state(State.FAILED, timeout=WAIT)
        assert c.last_change.close_code == 1008
        assert srv.stats().accepted == 1
        c.release()
    finally:
        srv.close()


def test_blackhole_client_detects_zombie_and_server_reaps(loop_thread):
    e = Echo()
    srv = make_server(e, heartbeat_timeout=0.5, check_interval=0.1, ping_interval=False)
    proxy = FaultProxy(loop_thread, srv.port).start()
    try:
        # Plain: an mws.v1 session reaped for silence is suspended, not ended
        # (tests/python/test_v1.py and the C v1 tests cover that).
        c = managedws.Client(proxy.url, heartbeat_interval=0.2, heartbeat_timeout=0.3,
                             protocol_mode="plain", **FAST)
        c.connect()
        c.wait_state(State.CONNECTED, timeout=WAIT)
        wait_until(lambda: srv.stats().connections == 1, what="server side up")
        proxy.mode = "blackhole"
        t0 = time.monotonic()
        c.wait_state(State.RECONNECTING, State.CONNECTING, timeout=WAIT)
        assert time.monotonic() - t0 < 0.2 + 0.3 + 1.0
        assert c.stats().heartbeat_timeouts >= 1
        # The server side of the zombie hears nothing and is reaped with 4000.
        wait_until(lambda: srv.stats().reaped == 1, what="the server to reap the zombie")
        assert any(why == managedws.DisconnectReason.REAPED and code == 4000
                   for _, code, why in e.disconnects)
        c.release()
    finally:
        proxy.stop()
        srv.close()


def test_v1_session_on_connect_reads_the_kept_headers_only():
    seen = {}

    def on_auth(info):
        seen["auth"] = info.header("X-Token")

    def on_connect(conn, info):
        seen["kept"] = info.header("x-token")
        seen["absent"] = info.header("X-Absent")
        try:
            seen["other"] = info.header("User-Agent")
        except managedws.InvalidState as exc:
            seen["other"] = exc

    srv = managedws.Server(iface="127.0.0.1", on_auth=on_auth, on_connect=on_connect,
                           keep_headers=["X-Token", "X-Absent"])
    try:
        with managedws.Client(srv.url, headers={"X-Token": "t0k"}, **FAST) as c:
            c.wait_state(State.CONNECTED, timeout=WAIT)
            assert c.stats().managed
            wait_until(lambda: "other" in seen, what="on_connect")
        assert seen["auth"] == "t0k" and seen["kept"] == "t0k" and seen["absent"] is None
        # Not kept: the request is gone by the session's hello, and it says so.
        assert isinstance(seen["other"], managedws.InvalidState)
    finally:
        srv.close()


def test_auth_hook_refuses_then_credentials_refresh(collector: Collector):
    def on_auth(info):
        return None if info.header("Authorization") == "Bearer good" else 401

    srv = managedws.Server(iface="127.0.0.1", on_auth=on_auth)
    try:
        # No credentials: 401, the hook (absent) cannot refresh: FAILED.
        bad = managedws.Client(srv.url, **FAST)
        bad.connect()
        bad.wait_state(State.FAILED, timeout=WAIT)
        bad.release()
        # A hook that refreshes after the 401.
        calls = []

        def creds(attempt, last_status):
            calls.append(last_status)
            return managedws.Credentials(headers={"Authorization": "Bearer good" if last_status == 401 else "Bearer stale"})

        refused = srv.stats().refused[managedws.RefuseReason.AUTH]
        assert refused >= 1
        good = managedws.Client(srv.url, on_credentials=creds, **FAST)
        good.connect()
        good.wait_state(State.CONNECTED, timeout=WAIT)
        assert calls == [0, 401]
        assert srv.stats().refused[managedws.RefuseReason.AUTH] == refused + 1
        good.release()
    finally:
        srv.close()


def test_server_callbacks_raising_do_not_kill_the_io_thread(caplog):
    caplog.set_level(logging.ERROR, logger="managedws")
    got = []

    def on_message(conn, msg):
        got.append(msg)
        raise ValueError("server bug")

    srv = managedws.Server(iface="127.0.0.1", on_message=on_message)
    try:
        with managedws.Client(srv.url, **FAST) as c:
            c.wait_state(State.CONNECTED, timeout=WAIT)
            c.send("a")
            c.send("b")
            wait_until(lambda: got == ["a", "b"], what="both messages")
            assert c.state == State.CONNECTED
        assert srv.callback_errors == 2
        assert any("server bug" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)
    finally:
        srv.close()


def test_server_dropped_without_close_is_freed(collector: Collector):
    from managedws import _callbacks

    srv = managedws.Server(iface="127.0.0.1")
    c = managedws.Client(srv.url, on_state=collector.on_state, **FAST)
    c.connect()
    c.wait_state(State.CONNECTED, timeout=WAIT)
    gc.collect()
    live = len(_callbacks._live)
    del srv
    gc.collect()
    # Freed: its connection closed with 1001 and its callbacks unregistered.
    c.wait_state(State.RECONNECTING, State.CONNECTING, timeout=WAIT)
    assert len(_callbacks._live) == live - 1
    c.release()


def test_port_released_after_close():
    srv = managedws.Server(iface="127.0.0.1")
    port = srv.port
    srv.close()
    again = managedws.Server(port=port, iface="127.0.0.1")
    again.close()


def test_listen_error_on_port_in_use():
    a = managedws.Server(iface="127.0.0.1")
    try:
        with pytest.raises(managedws.ListenError):
            managedws.Server(port=a.port, iface="127.0.0.1")
    finally:
        a.close()


def test_listen_error_on_bad_interface():
    with pytest.raises(managedws.ListenError):
        managedws.Server(iface="192.0.2.1")  # TEST-NET-1: not an address of this host


def test_asyncio_client_against_our_server(echo_server):
    srv, echo = echo_server

    async def main():
        async with managedws.connect(srv.url, **FAST) as client:
            for i in range(1000):
                await client.send("m%d" % i)
            got = [await client.recv() for _ in range(1000)]
            assert got == ["m%d" % i for i in range(1000)]

    asyncio.run(main())


def test_every_server_config_field_is_an_option():
    from managedws import _ffi, _options

    c_fields = {name for name, _ in _ffi.ffi.typeof("mws_server_config").fields}
    assert c_fields == {o.field for o in _options.SERVER_OPTIONS} | {"size", "origin_count", "keep_header_count"}
    c_stats = {name for name, _ in _ffi.ffi.typeof("mws_server_stats").fields} - {"size"}
    import dataclasses

    assert c_stats == {f.name for f in dataclasses.fields(managedws.ServerStats)}
