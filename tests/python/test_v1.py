"""mws.v1 through the Python binding, on the real C implementation.

Against a plain peer (`websockets`) the client falls back to plain mode:
sends are numbered and settle once written. Against our own Server the
connection carries a session: on_session events on both ends, the server's
id stable across resumes, receipts from the server's acks, nothing lost,
duplicated or reordered across a dropped connection, and a session the
server no longer has reported as lost with its counts.
"""
from __future__ import annotations

import asyncio
import threading
from typing import Any, List, Set, Tuple

import pytest

import managedws
from managedws import SessionEvent, State

from conftest import FAST, WAIT, Collector, FaultProxy, wait_until


class CuttingProxy(FaultProxy):
    """The conftest proxy, plus cut(): reset every connection it carries
    (the client and the server each see a connection lost, no close frame)."""

    def cut(self) -> None:
        async def _cut() -> None:
            for w in list(self._writers):
                w.transport.abort()
            self._writers.clear()

        self.lt.run(_cut())


class Sessions:
    """A server's callbacks, recorded under a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connects: List[int] = []
        self.disconnects: List[Tuple[int, int, Any]] = []
        self.events: List[Tuple[int, SessionEvent]] = []
        self.messages: List[Tuple[int, Any]] = []
        self.srv: Any = None

    def kwargs(self) -> dict:
        return dict(on_connect=lambda c, i: self._add(self.connects, c),
                    on_disconnect=lambda c, code, r, why: self._add(self.disconnects, (c, code, why)),
                    on_session=lambda c, e: self._add(self.events, (c, e)),
                    on_message=lambda c, m: self._add(self.messages, (c, m)))

    def _add(self, lst: list, item: Any) -> None:
        with self.lock:
            lst.append(item)

    def texts(self) -> List[str]:
        with self.lock:
            return [m for _, m in self.messages]


def numbered(prefix: str, first: int, last: int) -> List[str]:
    return ["%s%d" % (prefix, i) for i in range(first, last + 1)]


# ---- plain peers: the fallback ----


def test_plain_fallback_numbers_sends_and_flush_settles_them(ws_server, collector: Collector):
    c = managedws.Client(ws_server.url, on_message=collector.on_message, on_state=collector.on_state, **FAST)
    with c:
        c.wait_state(State.CONNECTED, timeout=WAIT)
        numbers = [c.send(m) for m in numbered("m", 1, 20)]
        assert numbers == list(range(1, 21))
        c.flush(timeout=WAIT)
        assert c.acked_number >= 20
        st = c.stats()
        assert not st.managed
        assert st.send_number == 20
        assert c.session is None
        assert c.last_change.session == SessionEvent.NONE
        wait_until(lambda: len(collector.messages) == 20, what="the echoes")
        assert collector.messages == numbered("m", 1, 20)


def test_require_against_a_plain_server_fails(ws_server):
    c = managedws.Client(ws_server.url, protocol_mode="require", no_reconnect=True, **FAST)
    with c:
        with pytest.raises(managedws.Failed):
            c.wait_state(State.CONNECTED, timeout=WAIT)
        assert c.state == State.FAILED


def test_v1_options_are_checked():
    with pytest.raises(managedws.InvalidArgument):
        managedws.Client("ws://127.0.0.1:9/", protocol_mode="sometimes")
    with pytest.raises(managedws.InvalidArgument):
        managedws.Client("ws://127.0.0.1:9/", session_lost_mode=7)
    with pytest.raises(managedws.InvalidArgument):
        managedws.Server(iface="127.0.0.1", protocol_mode="require")
    # Names and members alike.
    managedws.Client("ws://127.0.0.1:9/", protocol_mode=managedws.ProtocolMode.PLAIN,
                     session_lost_mode="discard", ack_every=4, ack_delay=0.01).release()


def test_asyncio_flush_on_a_plain_connection(ws_server):
    async def main() -> None:
        async with managedws.connect(ws_server.url, **FAST) as client:
            numbers = [await client.send("a%d" % i) for i in range(10)]
            assert numbers == list(range(1, 11))
            await client.flush(timeout=WAIT)
            await client.acked(numbers[-1], timeout=WAIT)
            assert client.acked_number >= 10
            got = [await asyncio.wait_for(client.recv(), WAIT) for _ in range(10)]
            assert got == ["a%d" % i for i in range(10)]

    asyncio.run(asyncio.wait_for(main(), 60))


# ---- our server: sessions ----


@pytest.fixture
def session_server():
    rec = Sessions()
    srv = managedws.Server(iface="127.0.0.1", **rec.kwargs())
    rec.srv = srv
    yield srv, rec
    srv.close()


def test_session_started_receipts_from_the_server(session_server):
    srv, rec = session_server
    infos: List[managedws.SessionInfo] = []
    acked: List[int] = []
    c = managedws.Client(srv.url, on_session=infos.append, on_acked=acked.append, **FAST)
    with c:
        c.wait_state(State.CONNECTED, timeout=WAIT)
        assert [i.event for i in infos] == [SessionEvent.STARTED]
        assert len(infos[0].session_id) == 16
        assert c.last_change.session == SessionEvent.STARTED
        assert c.stats().managed
        last = 0
        for m in numbered("s", 1, 300):
            last = c.send(m)
        c.wait_acked(last, timeout=WAIT)
        assert acked and acked[-1] >= last and acked == sorted(acked)
        assert rec.texts() == numbered("s", 1, 300)
        st = c.stats()
        assert st.acked_number >= 300 and st.sessions_started == 1
        assert len(rec.connects) == 1


def test_resume_loses_duplicates_and_reorders_nothing(session_server, loop_thread):
    srv, rec = session_server
    proxy = CuttingProxy(loop_thread, srv.port).start()
    infos: List[managedws.SessionInfo] = []
    got: List[Any] = []
    lock = threading.Lock()

    def on_message(m: Any) -> None:
        with lock:
            got.append(m)

    c = managedws.Client(proxy.url, on_session=infos.append, on_message=on_message, **FAST)
    try:
        with c:
            c.wait_state(State.CONNECTED, timeout=WAIT)
            wait_until(lambda: len(rec.connects) == 1, what="on_connect")
            conn = rec.connects[0]
            sent = 0
            for cut in range(3):
                for _ in range(200):
                    sent += 1
                    c.send("c%d" % sent)
                    srv.send(conn, "s%d" % sent)
                proxy.cut()  # some of those are in flight, some not yet written
                wait_until(lambda: len(infos) == cut + 2, what="resume %d" % (cut + 1))
                assert infos[-1].event == SessionEvent.RESUMED
            c.flush(timeout=WAIT)
            wait_until(lambda: len(rec.messages) >= sent, what="every client message at the server")
            wait_until(lambda: len(got) >= sent, what="every server message at the client")
            assert rec.texts() == numbered("c", 1, sent)
            assert got == numbered("s", 1, sent)
            assert {cn for cn, _ in rec.messages} == {conn}
            assert rec.connects == [conn]  # once per session
            with rec.lock:
                events = [e for cn, e in rec.events if cn == conn]
            assert events.count(SessionEvent.SUSPENDED) == 3
            assert events.count(SessionEvent.RESUMED) == 3
            assert not rec.disconnects
            st = c.stats()
            assert st.sessions_resumed == 3 and st.sessions_lost == 0
    finally:
        proxy.stop()


def _lose_session(loop_thread, lost_mode: str):
    """A client whose server is replaced while messages are unacknowledged:
    returns (the SessionInfo list, the old and the new server's records, stats)."""
    old, new = Sessions(), Sessions()
    srv_old = managedws.Server(iface="127.0.0.1", **old.kwargs())
    srv_new = managedws.Server(iface="127.0.0.1", **new.kwargs())
    proxy = CuttingProxy(loop_thread, srv_old.port).start()
    infos: List[managedws.SessionInfo] = []
    c = managedws.Client(proxy.url, on_session=infos.append, session_lost_mode=lost_mode,
                         heartbeat_interval=5.0, **FAST)
    try:
        c.connect()
        c.wait_state(State.CONNECTED, timeout=WAIT)
        c.flush(timeout=WAIT)
        proxy.mode = "blackhole"  # written from here on, never acknowledged
        for m in numbered("x", 1, 50):
            c.send(m)
        wait_until(lambda: c.stats().unacked == 50, what="50 written, unacknowledged")
        proxy.target_port = srv_new.port
        proxy.mode = "pass"
        proxy.cut()
        wait_until(lambda: len(infos) == 2, what="the session event on the new server")
        c.flush(timeout=WAIT)
        return infos, old, new, c.stats()
    finally:
        c.close()
        c.release()
        proxy.stop()
        srv_old.close()
        srv_new.close()


def test_session_lost_resend_reports_and_resends(loop_thread):
    infos, old, new, st = _lose_session(loop_thread, "resend")
    lost = infos[1]
    assert lost.event == SessionEvent.LOST
    assert lost.unacked == 50 and lost.resent == 50 and lost.discarded == 0
    assert st.sessions_lost == 1 and st.lost_resent == 50
    assert new.texts() == numbered("x", 1, 50)  # re-sent, in order, on the new session
    assert old.texts() == []  # the blackhole ate them


def test_session_lost_discard_reports_and_frees(loop_thread):
    infos, old, new, st = _lose_session(loop_thread, "discard")
    lost = infos[1]
    assert lost.event == SessionEvent.LOST
    assert lost.unacked == 50 and lost.discarded == 50 and lost.resent == 0
    assert (lost.discarded_first, lost.discarded_last) == (1, 50)
    assert st.lost_discarded == 50
    assert new.texts() == []


def test_asyncio_session_event_and_receipts(session_server):
    srv, rec = session_server

    async def main() -> None:
        infos: List[managedws.SessionInfo] = []
        async with managedws.connect(srv.url, on_session=infos.append, **FAST) as client:
            # The session event reaches the loop before the CONNECTED it precedes.
            assert [i.event for i in infos] == [SessionEvent.STARTED]
            assert client.session is infos[0]
            numbers = [await client.send("a%d" % i) for i in range(100)]
            await client.acked(numbers[49], timeout=WAIT)
            await client.flush(timeout=WAIT)
            assert client.acked_number >= 100
            assert client.stats().managed

    asyncio.run(asyncio.wait_for(main(), 60))
    assert rec.texts() == ["a%d" % i for i in range(100)]
