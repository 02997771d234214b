"""The asyncio server: ``managedws.serve(handler, host, port)``, like
``websockets.serve``. One coroutine per connection, on the event loop,
receiving that connection's messages in order::

    async def handler(conn):
        async for message in conn:
            await conn.send(message)

    async with managedws.serve(handler, "127.0.0.1", 8765) as server:
        await server.serve_forever()

Events cross from the I/O thread to the loop as in AsyncClient: appended to
a deque, one ``call_soon_threadsafe`` wake-up at a time. No user code runs
on the I/O thread. What blocks in the C library (start, shutdown, close)
runs in the loop's default executor, so the loop never stalls.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import threading
from typing import Any, AsyncIterator, Awaitable, Callable, Deque, Dict, Generator, List, Optional, Tuple, Union

from ._callbacks import report
from ._errors import Closed
from ._messages import Message
from ._server import ConnInfo, DisconnectReason, Server

__all__ = ["AsyncServer", "ServerConnection", "serve"]

logger = logging.getLogger("managedws")

_CONNECT, _MESSAGE, _DISCONNECT = 0, 1, 2


class ServerConnection:
    """One client of an AsyncServer, handed to the handler."""

    def __init__(self, server: "AsyncServer", conn_id: int, info: ConnInfo) -> None:
        self.server = server
        #: The library's id of this connection.
        self.id = conn_id
        self.peer_ip = info.peer_ip
        self.path = info.path
        self.origin = info.origin
        self.subprotocol = info.subprotocol
        #: Request headers captured at the handshake (names given by
        #: ``capture_headers``, lower-case), None for absent ones.
        self.request_headers: Dict[str, Optional[str]] = {}
        self.close_code: Optional[int] = None
        self.close_reason = ""
        self._messages: Deque[Message] = collections.deque()
        self._waiters: List["asyncio.Future[None]"] = []
        self._rx_paused = False

    @property
    def open(self) -> bool:
        return self.close_code is None

    def _wake(self) -> None:
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)

    async def send(self, message: Union[str, bytes, bytearray, memoryview]) -> None:
        """Queues a message (str: text, bytes-like: binary); Closed once gone."""
        self.server.server.send(self.id, message)

    def _flow(self) -> None:
        """Receive flow control from the buffer's size (loop thread): reading
        pauses at max_queue messages and resumes at half of it."""
        mq = self.server._max_queue
        if mq is None or self.close_code is not None:
            return
        n = len(self._messages)
        want = n >= mq if not self._rx_paused else n > mq // 2
        if want != self._rx_paused and self.server.server._cptr() is not None:
            self._rx_paused = want
            try:
                self.server.server.pause_rx(self.id, want)
            except Closed:
                pass

    async def recv(self) -> Message:
        """The next message; Closed once the connection ended and all were read."""
        while True:
            if self._messages:
                message = self._messages.popleft()
                if self._rx_paused:
                    self._flow()
                return message
            if self.close_code is not None:
                raise Closed("connection closed: %s (code %d)" % (self.close_reason, self.close_code))
            fut: "asyncio.Future[None]" = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                await fut
            finally:
                self._waiters.remove(fut)

    def __aiter__(self) -> AsyncIterator[Message]:
        return self

    async def __anext__(self) -> Message:
        try:
            return await self.recv()
        except Closed:
            raise StopAsyncIteration from None

    async def close(self, code: int = 1000, reason: Optional[str] = None) -> None:
        """Closes this connection (nothing if it is gone already)."""
        if self.close_code is None:
            try:
                self.server.server.close_connection(self.id, code, reason)
            except Closed:
                pass

    def __repr__(self) -> str:
        return "<managedws.ServerConnection %d from %s%s>" % (
            self.id, self.peer_ip, "" if self.open else " closed")


class AsyncServer:
    """A managedws Server driven from asyncio. Create it with ``managedws.serve()``."""

    def __init__(self, handler: Callable[[ServerConnection], Awaitable[Any]], host: Optional[str], port: int,
                 *, capture_headers: Tuple[str, ...] = (), on_auth: Optional[Callable[[ConnInfo], Any]] = None,
                 max_queue: Optional[int] = 16, **options: Any) -> None:
        if not callable(handler):
            raise TypeError("handler must be a coroutine function, not %s" % type(handler).__name__)
        if max_queue is not None and (isinstance(max_queue, bool) or not isinstance(max_queue, int)
                                      or max_queue < 1):
            raise TypeError("max_queue: a positive int or None expected, got %r" % (max_queue,))
        # Messages a connection holds unread before reading from its socket
        # pauses (mws_server_pause_rx), as websockets' max_queue; None: never.
        self._max_queue = max_queue
        self._loop = asyncio.get_running_loop()
        self.handler = handler
        self._capture = tuple(h.lower() for h in capture_headers)
        self._pending: Deque[Tuple[int, Any]] = collections.deque()
        self._scheduled = False
        self._lock = threading.Lock()
        self._conns: Dict[int, ServerConnection] = {}
        self._tasks: "set[asyncio.Task[Any]]" = set()
        self._closed = self._loop.create_future()
        if host is not None:
            options["iface"] = host
        if self._capture:  # an mws.v1 session's on_connect comes after the request
            options.setdefault("keep_headers", self._capture)
        self.server = Server(port, on_auth=on_auth, on_connect=self._io_connect, on_message=self._io_message,
                             on_disconnect=self._io_disconnect, start=False, **options)

    # ---- I/O thread ----

    def _io_push(self, kind: int, value: Any) -> None:
        self._pending.append((kind, value))
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop is closed
            pass

    def _io_connect(self, conn: int, info: ConnInfo) -> None:
        sc = ServerConnection(self, conn, info)
        for name in self._capture:  # header() is valid only now, on the I/O thread
            sc.request_headers[name] = info.header(name)
        self._io_push(_CONNECT, sc)

    def _io_message(self, conn: int, message: Message) -> None:
        self._io_push(_MESSAGE, (conn, message))

    def _io_disconnect(self, conn: int, code: int, reason: str, why: Any) -> None:
        self._io_push(_DISCONNECT, (conn, code, reason))

    # ---- loop ----

    def _drain(self) -> None:
        with self._lock:
            self._scheduled = False
        while self._pending:
            kind, value = self._pending.popleft()
            if kind == _CONNECT:
                self._conns[value.id] = value
                task = self._loop.create_task(self._run(value))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            elif kind == _MESSAGE:
                sc = self._conns.get(value[0])
                if sc is not None:
                    sc._messages.append(value[1])
                    sc._flow()
                    sc._wake()
            else:
                sc = self._conns.pop(value[0], None)
                if sc is not None:
                    sc.close_code, sc.close_reason = value[1], value[2]
                    sc._wake()

    async def _run(self, sc: ServerConnection) -> None:
        code = 1000
        try:
            await self.handler(sc)
        except asyncio.CancelledError:
            code = 1001
            raise
        except Exception as exc:
            code = 1011
            report(exc, "handler", self)
        finally:
            # As websockets does: the handler's return ends the connection.
            if sc.close_code is None and self.server._cptr() is not None:
                try:
                    self.server.close_connection(sc.id, code)
                except Exception:
                    pass

    # ---- public API ----

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def connections(self) -> List[ServerConnection]:
        """The connections open now, as the loop has seen them."""
        return list(self._conns.values())

    def stats(self) -> Any:
        return self.server.stats()

    def broadcast(self, message: Union[str, bytes, bytearray, memoryview]) -> None:
        self.server.broadcast(message)

    async def start(self) -> None:
        await self._loop.run_in_executor(None, self.server.start)

    async def shutdown(self, code: int = 1012, spread: float = 0.0, deadline: float = 5.0) -> bool:
        """Graceful shutdown without blocking the loop (see Server.shutdown);
        then waits for the handlers to finish and closes the server."""
        ok = await self._loop.run_in_executor(None, self.server.shutdown, code, spread, deadline)
        await self.close()
        return ok

    async def close(self) -> None:
        """Closes every connection (1001) and the server; waits for the handlers."""
        if self.server._cptr() is not None:
            await self._loop.run_in_executor(None, self.server.close)
        # Disconnects were delivered before close() returned: apply them.
        self._drain()
        for sc in list(self._conns.values()):
            sc.close_code, sc.close_reason = 1001, "server closed"
            sc._wake()
        self._conns.clear()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)
        if not self._closed.done():
            self._closed.set_result(None)

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)

    async def serve_forever(self) -> None:
        """Waits until the server is closed (by close() or shutdown())."""
        await self.wait_closed()

    async def __aenter__(self) -> "AsyncServer":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return "<managedws.AsyncServer %s>" % (self.url if self.server._cptr() is not None else "closed")


class serve:
    """Starts an AsyncServer; ``await managedws.serve(...)`` or ``async with``.

    ``handler(conn)`` is a coroutine function run once per connection with a
    ServerConnection; when it returns the connection is closed (1000; 1011
    if it raised). ``host`` "127.0.0.1" listens on that address only (an
    interface name also works), None on every interface; ``port`` 0 picks
    a free one (read ``server.port``). ``capture_headers``: request headers
    to keep in ``conn.request_headers``; ``on_auth(info)``: the handshake
    hook of Server (runs on the I/O thread). ``max_queue`` (16): messages
    a connection may hold unread before the server stops reading its socket
    (resumed at half; TCP slows the client meanwhile); None: unbounded.
    Other keywords are Server options.
    """

    def __init__(self, handler: Callable[[ServerConnection], Awaitable[Any]], host: Optional[str] = "127.0.0.1",
                 port: int = 0, **kwargs: Any) -> None:
        self._args = (handler, host, port)
        self._kwargs = kwargs
        self._server: Optional[AsyncServer] = None

    async def _start(self) -> AsyncServer:
        srv = AsyncServer(*self._args, **self._kwargs)
        try:
            await srv.start()
        except BaseException:
            await srv.close()
            raise
        return srv

    def __await__(self) -> Generator[Any, None, AsyncServer]:
        return self._start().__await__()

    async def __aenter__(self) -> AsyncServer:
        self._server = await self._start()
        return self._server

    async def __aexit__(self, *exc_info: Any) -> None:
        assert self._server is not None
        await self._server.close()


_ = DisconnectReason
