"""managedws.Client against a hand-written raw-socket server
(tests/peers/raw_ws_peer.py): empty fragments, JSON connection ids, close()
then send(), reconnection off."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
from typing import Iterator, List, Optional

import pytest

import managedws
from managedws import State

from conftest import FAST, WAIT, Collector, wait_until

RAW_PEER = pathlib.Path(__file__).resolve().parents[1] / "peers" / "raw_ws_peer.py"


class RawPeer:
    def __init__(self, mode: str, *extra: str) -> None:
        fd, self.log = tempfile.mkstemp(prefix="mws-raw-", suffix=".log")
        os.close(fd)
        self.proc = subprocess.Popen(
            [sys.executable, str(RAW_PEER), "--mode", mode, "--log", self.log, *extra],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        assert line.startswith("PORT "), "raw peer printed %r" % line
        self.url = "ws://127.0.0.1:%d/" % int(line.split()[1])

    def accepts(self) -> int:
        with open(self.log, encoding="utf-8") as f:
            return sum(1 for line in f if line.startswith("accept"))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(WAIT)
        if self.proc.stdout:
            self.proc.stdout.close()
        os.unlink(self.log)


@pytest.fixture
def raw_peer() -> Iterator:
    started: List[RawPeer] = []

    def start(mode: str, *extra: str) -> RawPeer:
        p = RawPeer(mode, *extra)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


def test_empty_fragments_arrive_as_empty_messages(raw_peer, collector: Collector):
    peer = raw_peer("empty-fragments")
    with managedws.Client(peer.url, on_message=collector.on_message, heartbeat_mode="off", **FAST) as c:
        c.wait_state(State.CONNECTED, timeout=WAIT)
        wait_until(lambda: len(collector.messages) >= 3, what="3 messages")
        assert collector.messages[:3] == ["", b"", "done"]
        assert c.callback_errors == 0


@pytest.mark.parametrize("mode,given,sent", [
    ("ack-string", 'conn-"42"', '"conn-\\"42\\""'),
    ("ack-number", "9007199254740991", "9007199254740991"),
])
def test_json_heartbeat_sends_the_server_connection_id_back_verbatim(
        raw_peer, collector: Collector, mode: str, given: str, sent: str):
    peer = raw_peer(mode, "--id", given)
    with managedws.Client(peer.url, on_message=collector.on_message, heartbeat_mode="json",
                          heartbeat_interval=0.1, heartbeat_timeout=5.0, **FAST) as c:
        assert c.server_connection_id is None
        c.wait_state(State.CONNECTED, timeout=WAIT)
        wait_until(lambda: collector.messages, what="a heartbeat seen by the peer")
        seen = collector.messages[0]
        assert seen.startswith("seen:")
        assert '"connectionId":%s}' % sent in seen, seen
        assert json.loads(seen[5:])["timestamp"] > 1.6e12  # Unix epoch ms
        assert c.server_connection_id == given


def test_send_after_close_raises_closed_every_time(raw_peer):
    peer = raw_peer("echo")
    # The I/O thread is held inside the credentials hook while close() and
    # the sends run, so nothing but close() itself can make send() refuse.
    entered, release = threading.Event(), threading.Event()

    def hold(attempt: int, last_status: int) -> bool:
        entered.set()
        release.wait(WAIT)
        return True

    c = managedws.Client(peer.url, heartbeat_mode="off", on_credentials=hold, **FAST)
    try:
        c.connect()
        assert entered.wait(WAIT)
        c.close()
        refused = 0
        for _ in range(50):
            with pytest.raises(managedws.Closed):
                c.send("late")
            refused += 1
        assert refused == 50
    finally:
        release.set()
    c.wait_state(State.CLOSED, timeout=WAIT)
    assert c.stats().msgs_out == 0
    c.release()


def test_no_reconnect_makes_exactly_one_connection(raw_peer):
    peer = raw_peer("close-1001")
    c = managedws.Client(peer.url, heartbeat_mode="off", no_reconnect=True, **FAST)
    c.connect()
    with pytest.raises(managedws.Failed):
        c.wait_state(State.RECONNECTING, timeout=WAIT)
    assert c.state == State.FAILED
    assert c.last_change is not None and c.last_change.reason == "reconnection off"
    assert peer.accepts() == 1
    c.release()
