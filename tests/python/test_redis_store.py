"""Server(session_store=...): mws.v1 sessions in Redis through the Python
binding, with a real redis-server started on a free port for the test (Redis
cannot bind port 0: a port is probed free, another tried if it still fails).
Skipped loudly when redis-server is not installed (scripts/setup.sh does)."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

import managedws
from managedws import State

from conftest import FAST, WAIT, Collector, wait_until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def redis_url():
    exe = shutil.which("redis-server")
    if not exe:
        pytest.skip("SKIPPED: redis-server is not installed (apt-get install redis-server; "
                    "scripts/setup.sh does)")
    for _ in range(5):
        port = _free_port()
        p = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and p.poll() is None and not _pong(port):
            time.sleep(0.02)
        if _pong(port):
            try:
                yield f"redis://127.0.0.1:{port}/0"
            finally:
                p.terminate()
                p.wait(5)
            return
        p.kill()
        p.wait(5)
    pytest.fail("redis-server did not start")


def test_unreachable_store_is_store_unavailable():
    with pytest.raises(managedws.StoreUnavailable):
        managedws.Server(iface="127.0.0.1", session_store=f"redis://127.0.0.1:{_free_port()}/0")


def test_send_and_broadcast_from_another_node(redis_url, collector: Collector):
    ids = []
    a = managedws.Server(iface="127.0.0.1", session_store=redis_url,
                         on_connect=lambda conn, info: ids.append(conn))
    b = managedws.Server(iface="127.0.0.1", session_store=redis_url)
    try:
        with managedws.Client(a.url, on_message=collector.on_message, **FAST) as c:
            c.wait_state(State.CONNECTED, timeout=WAIT)
            wait_until(lambda: ids, what="on_connect on node a")
            b.send(ids[0], "from b")            # held by a: through Redis
            b.broadcast("to every node")
            wait_until(lambda: len(collector.messages) == 2, what="messages from node b")
            assert collector.messages == ["from b", "to every node"]
    finally:
        a.close()
        b.close()
