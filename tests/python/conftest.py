"""Fixtures for the Python binding's tests.

The tests run against the INSTALLED managedws (scripts/test-python.sh builds
and installs it into a fresh virtual environment): the first thing checked
is that the package imported is not the one under bindings/python.

Peers run in this process on a background asyncio loop (LoopThread): a
`websockets` server (WsServer) and a small TCP proxy with pass and
blackhole modes (FaultProxy). Everything binds 127.0.0.1 port 0. Waiting is
always on a condition with a bound (wait_until), never a bare sleep; every
fixture stops what it started.
"""
from __future__ import annotations

import asyncio
import os
import pathlib
import threading
import time
from typing import Any, Callable, List, Optional, Set

import pytest

import managedws

REPO = pathlib.Path(__file__).resolve().parents[2]

if pathlib.Path(managedws.__file__).resolve().is_relative_to(REPO / "bindings"):
    raise RuntimeError(
        "tests must import the installed managedws, not %s; run scripts/test-python.sh" % managedws.__file__
    )

# Every build has the server half; a build that lost it (a missing symbol,
# a broken cdef) must fail the run, not skip the server's tests quietly.
if not managedws.HAS_SERVER:
    raise RuntimeError("the installed managedws has no server (mws_server_new missing): a broken build")

from websockets.asyncio.server import serve  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

#: Upper bound of every wait in these tests, seconds.
WAIT = 10.0


def wait_until(cond: Callable[[], Any], timeout: float = WAIT, what: str = "condition") -> Any:
    """Polls cond() every 5 ms until it is truthy; fails the test after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(0.005)


class LoopThread:
    """An asyncio loop on a daemon thread; run() executes a coroutine there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-peers", daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = WAIT) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _cancel_all(self) -> None:
        me = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not me]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        self.run(self._cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(WAIT)
        self.loop.close()


class WsServer:
    """A `websockets` server: not ours, the reference peer.

    mode "echo" sends every message back, "sink" only records, "close1008"
    closes each connection at once with 1008. Text arrives as str, binary
    as bytes, in `received` (all connections, in order).
    """

    def __init__(self, lt: LoopThread, mode: str = "echo") -> None:
        self.lt = lt
        self.mode = mode
        self.port = 0
        self.received: List[Any] = []
        self.connections: Set[Any] = set()
        self.connects = 0
        self.requests: List[Any] = []
        self._server: Any = None

    @property
    def url(self) -> str:
        return "ws://127.0.0.1:%d/" % self.port

    async def _handler(self, ws: Any) -> None:
        self.connects += 1
        self.connections.add(ws)
        try:
            if self.mode == "close1008":
                await ws.close(1008, "policy violation")
                return
            async for msg in ws:
                self.received.append(msg)
                if self.mode == "echo":
                    await ws.send(msg)
        except ConnectionClosed:
            pass
        finally:
            self.connections.discard(ws)

    def _process_request(self, connection: Any, request: Any) -> None:
        # Before the 101 response: recorded by the time the client is CONNECTED.
        self.requests.append(request)

    async def _start(self) -> None:
        # No pings of its own: the client's heartbeats are under test.
        self._server = await serve(self._handler, "127.0.0.1", self.port, ping_interval=None,
                                   max_size=None, max_queue=None,
                                   process_request=self._process_request)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()  # closes open connections with 1001
            await self._server.wait_closed()
            self._server = None

    async def _send_all(self, msg: Any) -> None:
        for ws in list(self.connections):
            await ws.send(msg)

    def start(self) -> "WsServer":
        self.lt.run(self._start())
        return self

    def stop(self) -> None:
        self.lt.run(self._stop())

    def send_all(self, msg: Any) -> None:
        self.lt.run(self._send_all(msg))


class FaultProxy:
    """A TCP proxy to 127.0.0.1:target with modes "pass" and "blackhole".

    Blackhole is a zombie network: sockets stay open, bytes from either side
    are read and thrown away, FIN is not passed on.
    """

    def __init__(self, lt: LoopThread, target_port: int) -> None:
        self.lt = lt
        self.target_port = target_port
        self.mode = "pass"
        self.port = 0
        self.discarded = 0
        self._server: Any = None
        self._writers: Set[asyncio.StreamWriter] = set()
        self._tasks: Set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        return "ws://127.0.0.1:%d/" % self.port

    async def _pipe(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await r.read(65536)
                if self.mode == "blackhole":
                    self.discarded += len(data)
                    if not data:
                        await asyncio.Event().wait()  # hold the socket open
                    continue
                if not data:
                    w.close()
                    return
                w.write(data)
                await w.drain()
        except (ConnectionError, OSError):
            w.close()

    async def _handle(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        self._writers.add(cw)
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            cw.close()
            return
        self._writers.add(uw)
        for a, b in ((cr, uw), (ur, cw)):
            t = asyncio.ensure_future(self._pipe(a, b))
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        self._server.close()
        for t in list(self._tasks):
            t.cancel()
        for w in list(self._writers):
            w.close()
        await self._server.wait_closed()

    def start(self) -> "FaultProxy":
        self.lt.run(self._start())
        return self

    def stop(self) -> None:
        self.lt.run(self._stop())


@pytest.fixture
def loop_thread():
    lt = LoopThread()
    yield lt
    lt.close()


@pytest.fixture
def ws_server(loop_thread):
    srv = WsServer(loop_thread).start()
    yield srv
    srv.stop()


@pytest.fixture
def make_ws_server(loop_thread):
    made: List[WsServer] = []

    def make(mode: str = "echo") -> WsServer:
        s = WsServer(loop_thread, mode).start()
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()


@pytest.fixture
def fault_proxy(loop_thread, ws_server):
    p = FaultProxy(loop_thread, ws_server.port).start()
    yield p
    p.stop()


class OurServerProcess:
    """tests/python/our_server.py (a managedws.Server) in a child process."""

    def __init__(self) -> None:
        self.port = 0
        self.proc: Any = None

    @property
    def url(self) -> str:
        return "ws://127.0.0.1:%d/" % self.port

    def start(self) -> "OurServerProcess":
        import subprocess
        import sys

        self.proc = subprocess.Popen([sys.executable, str(pathlib.Path(__file__).with_name("our_server.py")),
                                      str(self.port)], stdout=subprocess.PIPE, text=True, cwd="/")
        line = self.proc.stdout.readline()  # bounded: the child exits if it cannot listen
        if not line.startswith("PORT "):
            self.proc.kill()
            self.proc.wait(WAIT)
            pytest.fail("our_server.py did not start: %r" % line)
        self.port = int(line.split()[1])
        return self

    def stop(self) -> int:
        """SIGTERM: graceful shutdown (1012); returns the exit status."""
        if self.proc is None:
            return 0
        self.proc.terminate()
        try:
            rc = self.proc.wait(WAIT)
        except Exception:
            self.proc.kill()
            rc = self.proc.wait(WAIT)
        self.proc.stdout.close()
        self.proc = None
        return rc


@pytest.fixture
def our_server_process():
    p = OurServerProcess().start()
    yield p
    p.stop()


class Collector:
    """Thread-safe sink for callbacks: messages and state changes, in order."""

    def __init__(self) -> None:
        self.messages: List[Any] = []
        self.changes: List[managedws.StateChange] = []
        self.lock = threading.Lock()

    def on_message(self, msg: Any) -> None:
        with self.lock:
            self.messages.append(msg)

    def on_state(self, ch: managedws.StateChange) -> None:
        with self.lock:
            self.changes.append(ch)


@pytest.fixture
def collector() -> Collector:
    return Collector()


# Fast policies for tests: reconnect within tens of milliseconds.
FAST = dict(base_delay=0.02, max_delay=0.2, restart_spread=0.05, connect_timeout=2.0,
            handshake_timeout=2.0)


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def os_thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
