"""managedws.Client (synchronous face) against a `websockets` server."""
from __future__ import annotations

import logging
import threading
import time
from typing import List, Optional

import pytest

import managedws
from managedws import State

from conftest import FAST, WAIT, Collector, wait_until


def test_text_and_binary_both_ways(ws_server, collector: Collector):
    with managedws.Client(ws_server.url, on_message=collector.on_message, **FAST) as c:
        c.wait_state(State.CONNECTED, timeout=WAIT)
        c.send("héllo ✓")
        c.send(b"\x00\x01\xfe\xff")
        c.send(bytearray(b"ba"))
        c.send(memoryview(b"mv"))
        wait_until(lambda: len(collector.messages) == 4, what="4 echoes")
        # The server saw text as str and binary as bytes ...
        assert ws_server.received == ["héllo ✓", b"\x00\x01\xfe\xff", b"ba", b"mv"]
        # ... and so does the client, for the echoes and for the server's own.
        assert collector.messages == ["héllo ✓", b"\x00\x01\xfe\xff", b"ba", b"mv"]
        ws_server.send_all("from server")
        ws_server.send_all(b"\xffbin")
        wait_until(lambda: len(collector.messages) == 6, what="server messages")
        assert collector.messages[4:] == ["from server", b"\xffbin"]
        st = c.stats()
        assert st.msgs_out == 4 and st.msgs_in == 6 and st.connects == 1
        assert st.state == State.CONNECTED
    assert c.state == State.CLOSED
    with pytest.raises(managedws.Closed):
        c.send("after")


def test_state_changes_reported_in_order(ws_server, collector: Collector):
    c = managedws.Client(ws_server.url, on_state=collector.on_state, **FAST)
    assert c.state == State.DISCONNECTED
    c.connect()
    assert c.wait_state(State.CONNECTED, timeout=WAIT) == State.CONNECTED
    with pytest.raises(managedws.InvalidState):
        c.connect()
    c.close()
    c.wait_state(State.CLOSED, timeout=WAIT)
    c.close()  # idempotent
    seen = [(ch.old, ch.new) for ch in collector.changes]
    assert seen == [
        (State.DISCONNECTED, State.CONNECTING),
        (State.CONNECTING, State.CONNECTED),
        (State.CONNECTED, State.CLOSED),
    ]
    assert collector.changes[1].reason
    c.release()
    c.release()
    assert c.state == State.CLOSED
    assert c.stats().state == State.CLOSED


def test_server_restart_reconnects_and_delivers_queued_once_in_order(ws_server, collector: Collector):
    c = managedws.Client(ws_server.url, on_state=collector.on_state, **FAST)
    c.connect()
    c.wait_state(State.CONNECTED, timeout=WAIT)
    for i in range(5):
        c.send("before %d" % i)
    wait_until(lambda: len(ws_server.received) == 5, what="5 messages before the restart")

    ws_server.stop()  # closes with 1001: the client must come back by itself
    wait_until(lambda: c.state != State.CONNECTED, what="the client to notice the restart")
    queued = ["queued %d" % i for i in range(50)]
    for m in queued:
        c.send(m)
    assert c.stats().queue_messages == 50
    ws_server.start()  # same port
    c.wait_state(State.CONNECTED, timeout=WAIT)
    wait_until(lambda: len(ws_server.received) == 55, what="the queued messages")
    assert ws_server.received[5:] == queued  # once each, in order
    st = c.stats()
    assert st.reconnects == 1 and st.queue_messages == 0
    assert ws_server.connects == 2
    assert any(ch.close_code == 1001 for ch in collector.changes)
    c.close()
    c.wait_state(State.CLOSED, timeout=WAIT)
    assert c.state == State.CLOSED
    # nothing more arrived after the wait: no duplicates
    assert len(ws_server.received) == 55


def test_blackhole_zombie_detected(fault_proxy, collector: Collector):
    interval, timeout = 0.2, 0.3
    c = managedws.Client(fault_proxy.url, on_state=collector.on_state, heartbeat_interval=interval,
                         heartbeat_timeout=timeout, **FAST)
    c.connect()
    c.wait_state(State.CONNECTED, timeout=WAIT)
    wait_until(lambda: c.stats().heartbeats_sent >= 1 and c.stats().rtt_p50_us > 0,
               what="a heartbeat answered")
    fault_proxy.mode = "blackhole"
    t0 = time.monotonic()
    c.wait_state(State.RECONNECTING, State.CONNECTING, timeout=WAIT)
    elapsed = time.monotonic() - t0
    # Detected within interval + timeout; 1 s of slack for a shared 2-CPU machine.
    assert elapsed < interval + timeout + 1.0, elapsed
    drop = [ch for ch in collector.changes if ch.old == State.CONNECTED][0]
    assert drop.close_code == 4000, drop
    assert c.stats().heartbeat_timeouts >= 1
    assert fault_proxy.discarded > 0
    c.close()


def test_close_1008_goes_failed(make_ws_server, collector: Collector):
    srv = make_ws_server("close1008")
    c = managedws.Client(srv.url, on_state=collector.on_state, **FAST)
    c.connect()
    assert c.wait_state(State.FAILED, timeout=WAIT) == State.FAILED
    assert c.last_change.close_code == 1008
    assert srv.connects == 1  # no retry
    with pytest.raises(managedws.Failed):
        c.send("x")
    with pytest.raises(managedws.Failed) as ei:
        c.wait_state(State.CONNECTED, timeout=WAIT)
    assert ei.value.close_code == 1008
    c.close()


def test_wait_room_after_queue_full(ws_server, collector: Collector):
    c = managedws.Client(ws_server.url, on_message=collector.on_message,
                         queue_max_messages=4, **FAST)
    for i in range(4):
        c.send("m%d" % i)  # queued: no connect yet, nothing drains
    with pytest.raises(managedws.QueueFull):
        c.send("m4")
    with pytest.raises(managedws.Timeout):
        c.wait_room(timeout=0.05)
    with pytest.raises(managedws.MessageTooBig):
        c.wait_room(size=(4 << 20) + 1, timeout=0)
    woke: List[Optional[BaseException]] = []

    def waiter() -> None:
        try:
            c.wait_room(size=2, timeout=WAIT)
            woke.append(None)
        except BaseException as e:  # noqa: BLE001: reported by the assert below
            woke.append(e)

    t = threading.Thread(target=waiter)
    t.start()
    c.connect()  # the connection drains the queue and wakes the waiter
    t.join(WAIT + 5)
    assert woke == [None]
    c.send("m4")
    wait_until(lambda: len(collector.messages) >= 5, what="echoes")
    c.close()


def test_queue_full_raised():
    c = managedws.Client("ws://127.0.0.1:9/", queue_max_messages=3, queue_max_bytes=1000)
    for i in range(3):
        c.send("m%d" % i)  # queued: no connect yet
    with pytest.raises(managedws.QueueFull) as ei:
        c.send("m3")
    assert ei.value.code == managedws.QueueFull.code < 0
    assert ei.value.name == "MWS_EQUEUEFULL"
    assert isinstance(ei.value, managedws.ManagedWSError)
    st = c.stats()
    assert st.queue_messages == 3 and st.queue_full == 1
    with pytest.raises(managedws.MessageTooBig):
        c.send(b"x" * 2000)
    c.release()


def test_callbacks_raising_do_not_kill_the_io_thread(ws_server, caplog):
    got = []

    def on_message(msg):
        got.append(msg)
        if msg.startswith("boom"):
            raise ValueError("user bug " + msg)

    def on_state(ch):
        raise RuntimeError("state bug")

    caplog.set_level(logging.ERROR, logger="managedws")
    c = managedws.Client(ws_server.url, on_message=on_message, on_state=on_state, **FAST)
    c.connect()
    c.wait_state(State.CONNECTED, timeout=WAIT)
    c.send("boom 1")
    c.send("boom 2")
    c.send("fine")
    wait_until(lambda: len(got) == 3, what="three messages despite the exceptions")
    assert got == ["boom 1", "boom 2", "fine"]
    assert c.state == State.CONNECTED
    assert c.callback_errors == 4  # CONNECTING and CONNECTED from on_state, 2 from on_message
    errors = [r for r in caplog.records if r.name == "managedws"]
    assert any("user bug boom 1" in str(r.exc_info[1]) for r in errors)
    # The I/O thread still serves: another client on it connects and echoes.
    other = []
    with managedws.Client(ws_server.url, on_message=other.append, **FAST) as c2:
        c2.wait_state(State.CONNECTED, timeout=WAIT)
        c2.send("still alive")
        wait_until(lambda: other == ["still alive"], what="the second client's echo")
    c.close()


def test_callback_may_send(ws_server):
    got = []

    def on_message(msg):
        got.append(msg)
        if msg == "ping":
            c.send("pong")  # from the I/O thread: allowed

    c = managedws.Client(ws_server.url, on_message=on_message, **FAST)
    c.connect()
    c.wait_state(State.CONNECTED, timeout=WAIT)
    c.send("ping")
    wait_until(lambda: got == ["ping", "pong"], what="ping then pong")
    c.close()


def test_wait_state_inside_callback_raises_deadlock(ws_server):
    errors = []

    def on_state(ch):
        if ch.new == State.CONNECTED:
            try:
                c.wait_state(State.CLOSED, timeout=1)
            except managedws.Deadlock as exc:
                errors.append(exc)

    c = managedws.Client(ws_server.url, on_state=on_state, **FAST)
    c.connect()
    c.wait_state(State.CONNECTED, timeout=WAIT)
    wait_until(lambda: errors, what="the Deadlock error")
    c.close()


def test_credentials_hook_sets_headers_and_query(ws_server):
    calls = []

    def on_credentials(attempt, last_status):
        calls.append((attempt, last_status))
        return {"headers": {"Authorization": "Bearer t%d" % len(calls)}, "query": {"token": "abc"}}

    c = managedws.Client(ws_server.url, on_credentials=on_credentials, **FAST)
    c.connect()
    c.wait_state(State.CONNECTED, timeout=WAIT)
    req = ws_server.requests[-1]
    assert req.headers["Authorization"] == "Bearer t1"
    assert req.path.endswith("?token=abc")
    assert calls == [(1, 0)]
    c.close()


def test_credentials_hook_refusing_fails_the_client(ws_server):
    c = managedws.Client(ws_server.url, on_credentials=lambda a, s: False, **FAST)
    c.connect()
    c.wait_state(State.FAILED, timeout=WAIT)
    assert ws_server.connects == 0
    c.close()


def test_reconnect_now_and_disconnect(ws_server):
    c = managedws.Client(ws_server.url, base_delay=30, max_delay=60, connect_timeout=2)
    c.connect()
    c.wait_state(State.CONNECTED, timeout=WAIT)
    with pytest.raises(managedws.InvalidState):
        c.reconnect_now()
    c.disconnect()
    c.wait_state(State.DISCONNECTED, timeout=WAIT)
    c.send("kept")  # waits in the queue while disconnected
    c.connect()
    c.wait_state(State.CONNECTED, timeout=WAIT)
    wait_until(lambda: ws_server.received == ["kept"], what="the kept message")
    c.close()


def test_bad_arguments():
    with pytest.raises(managedws.InvalidArgument):
        managedws.Client("http://example.invalid/")
    with pytest.raises(TypeError):
        managedws.Client("ws://127.0.0.1:9/", no_such_option=1)
    with pytest.raises(TypeError):
        managedws.Client("ws://127.0.0.1:9/").send(42)  # type: ignore[arg-type]
    with pytest.raises(managedws.InvalidArgument):
        managedws.Client("ws://127.0.0.1:9/", jitter="sideways")
    with pytest.raises(managedws.InvalidArgument):
        managedws.Client("ws://127.0.0.1:9/", base_delay=-1)
    with pytest.raises(managedws.InvalidArgument):
        managedws.Client("ws://127.0.0.1:9/", headers={"Bad\nName": "x"})
    c = managedws.Client("ws://127.0.0.1:9/")
    with pytest.raises(managedws.InvalidArgument):
        c.close(1005)  # not a code an application may send
    c.release()


def test_all_options_accepted(ws_server):
    c = managedws.Client(
        ws_server.url,
        subprotocol=None, origin="http://test.example", headers=[("X-Test", "1")],
        connect_timeout=1, handshake_timeout=1, base_delay=0.01, max_delay=0.1,
        jitter=managedws.Jitter.EQUAL, jitter_proportion=0.5, restart_spread=0.1,
        min_uptime=1, max_attempts=5, breaker_failures=10, breaker_window=5,
        heartbeat_mode="ping", heartbeat_interval=1, heartbeat_timeout=1,
        queue_max_messages=10, queue_max_bytes=10000, max_message_bytes=100000,
        ca_file=None, insecure=False, close_rules={4100: managedws.CloseAction.FAIL},
        random_seed=42,
    )
    c.connect()
    c.wait_state(State.CONNECTED, timeout=WAIT)
    req = ws_server.requests[-1]
    assert req.headers["X-Test"] == "1" and req.headers["Origin"].endswith("test.example")
    c.close()


def test_origin_sent_as_given(ws_server):
    c = managedws.Client(ws_server.url, origin="https://app.example", **FAST)
    c.connect()
    c.wait_state(State.CONNECTED, timeout=WAIT)
    assert ws_server.requests[-1].headers["Origin"] == "https://app.example"
    c.close()
