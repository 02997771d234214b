"""The asyncio face: ``async with managedws.connect(url) as client``."""
from __future__ import annotations

import asyncio
import collections
import threading
from typing import Any, AsyncIterator, Callable, Deque, Generator, List, Optional, Tuple

from ._async_send import AsyncSending
from ._callbacks import report
from ._client import Client
from ._connections import Connection, ended, iterate_connections
from ._errors import Closed, Failed, Timeout
from ._messages import Message
from ._options import CLIENT_OPTIONS, options_doc
from ._types import ClientStats, SessionInfo, State, StateChange

__all__ = ["AsyncClient", "Connection", "connect"]

_MSG = 0
_STATE = 1
_SESSION = 2
_ACKED = 3
_MSGS = 4  # a batch: a list of messages


class AsyncClient(AsyncSending):
    __doc__ = (
        """A managed client for asyncio. Create it with ``managedws.connect()``.

Events cross from the library's I/O thread to the event loop with
``loop.call_soon_threadsafe`` (at most one pending wake-up at a time; the
events themselves wait in a deque), so no user code runs on the I/O thread
-- except ``on_credentials``, which must answer synchronously: keep it to
returning a token an asyncio task refreshed.

Messages are buffered in the client until read with ``recv()`` or
``async for``. With ``max_queue=N`` the client stops reading from the
socket once N messages wait (TCP then slows the sender) and reads again
when half of them were read; the default, None, buffers without bound.

``state`` and ``wait_state()`` follow the events as the loop has applied
them, in order; ``on_state(change)``, if given, runs on the loop for each
transition (a plain function or a coroutine function, which is scheduled as
a task). ``on_session(info)`` likewise gets a SessionInfo on each mws.v1
connection (STARTED, RESUMED, LOST with counts).

Delivery receipts: ``await client.send(m)`` returns the message's send
number at once; ``await client.acked(number)`` waits until the server's
mws.v1 session has acknowledged it and ``await client.flush()`` until
everything sent so far is (on a plain connection: written).

``on_open(client)``, if given (plain or coroutine function), runs on the
loop at every CONNECTED; the messages that waited in the offline queue are
held until it returns, so what it sends (a resubscription) goes first. It
may call ``clear_queue()`` to drop them instead.

Options are those of managedws.Client:

"""
        + options_doc(CLIENT_OPTIONS)
    )

    def __init__(
        self,
        url: str,
        *,
        on_state: Optional[Callable[[StateChange], Any]] = None,
        on_credentials: Optional[Callable[[int, int], Any]] = None,
        on_open: Optional[Callable[["AsyncClient"], Any]] = None,
        on_session: Optional[Callable[[SessionInfo], Any]] = None,
        close_timeout: float = 10.0,
        max_queue: Optional[int] = None,
        **options: Any,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        if max_queue is not None and (isinstance(max_queue, bool) or not isinstance(max_queue, int)
                                      or max_queue < 1):
            raise TypeError("max_queue: a positive int or None expected, got %r" % (max_queue,))
        # Received messages not yet read; reading from the socket pauses at
        # max_queue and resumes at half of it (None: never pauses).
        self._max_queue = max_queue
        self._buffered = 0
        self._rx_paused = False
        if on_open is not None:
            if not callable(on_open):
                raise TypeError("on_open must be callable, not %s" % type(on_open).__name__)
            options["hold_queue_on_connect"] = True
        self.on_open = on_open
        self.on_state = on_state
        # For ``async for conn in connect(url)``: messages go to connections.
        self._per_connection = False
        self._conn_count = 0
        self._conn: Optional[Connection] = None
        self._new_conns: Deque[Connection] = collections.deque()
        self.on_session = on_session
        #: The SessionInfo of the latest managed connection, as the loop saw it.
        self.session: Optional[SessionInfo] = None
        self._acked = 0
        self._ack_waiters: List[Tuple[int, "asyncio.Future[None]"]] = []
        self._ack_timer: Optional[asyncio.TimerHandle] = None
        self.close_timeout = close_timeout
        self._corked = False
        self._pending: Deque[Tuple[int, Any]] = collections.deque()  # from the I/O thread
        self._scheduled = False
        self._lock = threading.Lock()
        self._messages: Deque[Message] = collections.deque()
        self._recv_waiters: List["asyncio.Future[None]"] = []
        self._state_waiters: List[Tuple[frozenset, "asyncio.Future[State]", bool]] = []
        self._tasks: "set[asyncio.Task[Any]]" = set()
        self._last_change: Optional[StateChange] = None
        self._client = Client(
            url,
            on_messages=self._io_messages,
            on_state=self._io_state,
            on_credentials=on_credentials,
            on_session=self._io_session,
            on_acked=self._io_acked,
            close_timeout=close_timeout,
            **options,
        )
        self._state = self._client.state

    # ---- I/O thread: append, and wake the loop if it is not already coming ----

    def _io_push(self, kind: int, value: Any) -> None:
        self._pending.append((kind, value))
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            pass

    def _io_message(self, msg: Message) -> None:
        self._io_push(_MSG, msg)

    def _io_messages(self, msgs: List[Message]) -> None:
        # A batch: one entry, and at most one wake of the loop for it.
        self._io_push(_MSGS, msgs)

    def _io_state(self, change: StateChange) -> None:
        self._io_push(_STATE, change)

    def _io_session(self, info: SessionInfo) -> None:
        self._io_push(_SESSION, info)

    def _io_acked(self, number: int) -> None:
        self._io_push(_ACKED, number)

    # ---- loop thread ----

    def _drain(self) -> None:
        with self._lock:
            self._scheduled = False
        pending = self._pending
        woke = False
        while pending:
            kind, value = pending.popleft()
            if kind == _MSG or kind == _MSGS:
                batch = value if kind == _MSGS else (value,)
                self._buffered += len(batch)
                if self._per_connection and self._conn is not None:
                    for msg in batch:
                        self._conn._push(msg)
                else:
                    self._messages.extend(batch)
                woke = True
            elif kind == _STATE:
                self._apply_state(value)
                self._check_acked()
                woke = True
            elif kind == _SESSION:
                self.session = value
                self._run_user("on_session", self.on_session, value)
            else:
                self._acked = max(self._acked, value)
                self._check_acked()
        self._flow()
        if woke:
            for fut in self._recv_waiters:
                if not fut.done():
                    fut.set_result(None)

    def _flow(self) -> None:
        """Receive flow control from the buffer's size (loop thread)."""
        mq = self._max_queue
        if mq is None:
            return
        want = self._buffered >= mq if not self._rx_paused else self._buffered > mq // 2
        if want != self._rx_paused and self._client._cptr() is not None:
            self._rx_paused = want
            try:
                self._client.pause_rx(want)
            except Closed:
                pass

    def _consumed(self) -> None:
        self._buffered -= 1
        if self._rx_paused:
            self._flow()

    def _apply_state(self, change: StateChange) -> None:
        self._state = change.new
        self._last_change = change
        if change.new == State.CONNECTED:
            self._conn_count += 1
            ended(self._conn, "replaced")
            self._conn = Connection(self, self._conn_count)
            if self._per_connection:
                self._new_conns.append(self._conn)
            if self.on_open is not None:
                self._spawn(self._run_on_open(), "on_open")
        elif change.old == State.CONNECTED:
            ended(self._conn, "%s (code %d)" % (change.reason, change.close_code))
            self._conn = None
        for targets, fut, raise_terminal in self._state_waiters:
            if fut.done():
                continue
            if change.new in targets:
                fut.set_result(change.new)
            elif raise_terminal and change.new in (State.CLOSED, State.FAILED):
                fut.set_exception(self._terminal_error(change.new, targets))
        self._run_user("on_state", self.on_state, change)

    def _run_user(self, what: str, cb: Optional[Callable[[Any], Any]], value: Any) -> None:
        if cb is None:
            return
        try:
            r = cb(value)
            if asyncio.iscoroutine(r):
                self._spawn(r, what)
        except Exception as exc:
            self._client.callback_errors += 1
            report(exc, what, self)

    def _spawn(self, coro: Any, what: str) -> None:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._task_done(t, what))

    def _task_done(self, task: "asyncio.Task[Any]", what: str = "on_state") -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._client.callback_errors += 1
            report(task.exception(), what, self)  # type: ignore[arg-type]

    async def _run_on_open(self) -> None:
        # Whatever on_open does, the held queue is let go after it.
        try:
            assert self.on_open is not None
            r = self.on_open(self)
            if asyncio.iscoroutine(r):
                await r
        finally:
            try:
                self._client.release_queue()
            except Exception:  # released or closed meanwhile: nothing held
                pass

    async def _next_connection(self) -> Optional[Connection]:
        """The next connection that opened (in order); None once CLOSED;
        Failed when FAILED."""
        while True:
            if self._new_conns:
                return self._new_conns.popleft()
            if self._state == State.CLOSED:
                return None
            if self._state == State.FAILED:
                raise self._terminal_error(State.FAILED, frozenset())
            fut: "asyncio.Future[None]" = self._loop.create_future()
            self._recv_waiters.append(fut)
            try:
                await fut
            finally:
                self._recv_waiters.remove(fut)

    def _check_acked(self) -> None:
        """Settles the acked() waiters that are due; fails them all once
        CLOSED or FAILED; while some wait, looks again every 100 ms (a plain
        connection has no acks: a written message is settled)."""
        if self._ack_timer is not None:
            self._ack_timer.cancel()
            self._ack_timer = None
        if not self._ack_waiters:
            return
        acked = self._acked
        if self._client._cptr() is not None:
            acked = max(acked, self._client.stats().acked_number)
        terminal = self._state in (State.CLOSED, State.FAILED)
        for number, fut in self._ack_waiters:
            if fut.done():
                continue
            if acked >= number:
                fut.set_result(None)
            elif terminal:
                fut.set_exception(self._terminal_error(self._state, frozenset()))
        if not terminal and any(not f.done() for _, f in self._ack_waiters):
            self._ack_timer = self._loop.call_later(0.1, self._check_acked)

    def _terminal_error(self, st: State, targets: frozenset) -> Exception:
        ch = self._last_change
        why = "%s (code %d)" % (ch.reason, ch.close_code) if ch else ""
        if st == State.CLOSED:
            exc: Exception = Closed("client closed: %s" % why)
        else:
            f = Failed("client failed: %s" % why)
            if ch is not None:
                f.close_code, f.reason = ch.close_code, ch.reason
            exc = f
        return exc

    # ---- public API ----

    @property
    def url(self) -> str:
        return self._client.url

    @property
    def state(self) -> State:
        """The state as the loop has seen it (events are applied in order)."""
        return self._state

    @property
    def last_change(self) -> Optional[StateChange]:
        return self._last_change

    @property
    def callback_errors(self) -> int:
        return self._client.callback_errors

    def connect(self) -> None:
        """Starts connecting again after disconnect() or FAILED."""
        self._client.connect()

    def reconnect_now(self) -> None:
        self._client.reconnect_now()

    def disconnect(self, code: int = 1000, reason: Optional[str] = None) -> None:
        self._client.disconnect(code, reason)

    def stats(self) -> ClientStats:
        return self._client.stats()

    def clear_queue(self) -> None:
        """Discards the messages sent before this call and not yet written."""
        self._client.clear_queue()

    @property
    def connection(self) -> Optional[Connection]:
        """The current connection as the loop has seen it, or None."""
        return self._conn

    @property
    def server_connection_id(self) -> Optional[str]:
        """The server's id from its JSON connection_ack, or None (see Client)."""
        return self._client.server_connection_id

    @property
    def acked_number(self) -> int:
        """Every message whose send number is <= this is settled."""
        return self._client.acked_number

    async def acked(self, number: int, timeout: Optional[float] = None) -> None:
        """Waits until the message with send ``number`` is settled:
        acknowledged by the server's mws.v1 session (on a plain connection:
        written). Timeout after ``timeout`` s; Closed / Failed if the client
        closes or fails first. Cancelling leaves nothing registered."""
        fut: "asyncio.Future[None]" = self._loop.create_future()
        entry = (number, fut)
        self._ack_waiters.append(entry)
        self._check_acked()
        try:
            if timeout is None:
                await fut
            else:
                try:
                    await asyncio.wait_for(fut, timeout)
                except asyncio.TimeoutError:
                    raise Timeout("message %d not acknowledged after %.3g s (acked %d)"
                                  % (number, timeout, self.acked_number)) from None
        finally:
            self._ack_waiters.remove(entry)

    async def flush(self, timeout: Optional[float] = None) -> None:
        """Waits until every message sent so far is settled (see acked())."""
        await self.acked(self._client.stats().send_number, timeout)

    async def recv(self) -> Message:
        """The next message: ``str`` for text, ``bytes`` for binary.

        Messages received before the client closed are returned first; then
        Closed once CLOSED, Failed while FAILED.
        """
        while True:
            if self._messages:
                self._consumed()
                return self._messages.popleft()
            if self._state in (State.CLOSED, State.FAILED):
                raise self._terminal_error(self._state, frozenset())
            fut: "asyncio.Future[None]" = self._loop.create_future()
            self._recv_waiters.append(fut)
            try:
                await fut
            finally:
                self._recv_waiters.remove(fut)

    def __aiter__(self) -> AsyncIterator[Message]:
        return self

    async def __anext__(self) -> Message:
        """Iteration ends when the client is CLOSED; FAILED raises Failed."""
        try:
            return await self.recv()
        except Closed:
            raise StopAsyncIteration from None

    async def wait_state(self, *states: State, timeout: Optional[float] = None) -> State:
        """Waits until the client is in one of ``states``; returns it.

        Raises Timeout after ``timeout`` seconds; Closed if the client is or
        becomes CLOSED, Failed if it is or becomes FAILED, while waiting for
        something else. Cancelling the waiting task leaves nothing
        registered behind.
        """
        if not states:
            raise TypeError("wait_state() needs at least one state")
        targets = frozenset(State(s) for s in states)
        if self._state in targets:
            return self._state
        if self._state in (State.CLOSED, State.FAILED):
            raise self._terminal_error(self._state, targets)
        return await self._wait(targets, timeout, raise_terminal=True)

    async def _wait(self, targets: frozenset, timeout: Optional[float], raise_terminal: bool) -> State:
        fut: "asyncio.Future[State]" = self._loop.create_future()
        entry = (targets, fut, raise_terminal)
        self._state_waiters.append(entry)
        try:
            if timeout is None:
                return await fut
            try:
                return await asyncio.wait_for(fut, timeout)
            except asyncio.TimeoutError:
                raise Timeout(
                    "still %s after %.3g s waiting for %s"
                    % (self._state.name, timeout, "/".join(sorted(s.name for s in targets)))
                ) from None
        finally:
            self._state_waiters.remove(entry)

    async def close(self, code: int = 1000, reason: Optional[str] = None) -> None:
        """Closes for good, waits up to ``close_timeout`` for CLOSED, frees the C client.

        Messages not yet written are discarded. Idempotent.
        """
        client = self._client
        client.close(code, reason)
        core = client._core
        if core is not None and core.ptr is not None and self._state != State.CLOSED:
            try:
                await self._wait(frozenset((State.CLOSED,)), self.close_timeout, raise_terminal=False)
            except Timeout:
                pass
        client.release()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return "<managedws.AsyncClient %s %s>" % (self.url, self._state.name)


class connect:
    """Creates an AsyncClient and connects it; three ways to use it.

    Once per connection, like ``websockets``: the body runs for the first
    connection and again after every reconnection; ``conn`` yields the
    messages of that connection and ends when it ends::

        async for conn in managedws.connect("ws://127.0.0.1:8765/"):
            await conn.send("subscribe")
            async for message in conn:
                ...

    The loop ends when the client is closed (``conn.client.close()``);
    Failed is raised when it fails for good. Breaking out of it closes the
    client when the iterator is finalised.

    One client for the whole session::

        async with managedws.connect("ws://127.0.0.1:8765/") as client:
            await client.send("hello")
            async for message in client:
                ...

    or ``client = await managedws.connect(url)`` (then ``await client.close()``).

    ``async with`` and ``await`` wait for the first connection: as long as
    it takes by default (the client retries with backoff, as it would after
    a lost connection); ``open_timeout`` seconds bound the wait (Timeout),
    Failed if the client fails permanently first (e.g. closed with 1008).
    The client is closed in both cases. ``wait_open=False`` returns at once,
    with the client connecting in the background (sends are queued). Every
    other keyword is an AsyncClient / Client option.
    """

    def __init__(self, url: str, *, open_timeout: Optional[float] = None, wait_open: bool = True,
                 **kwargs: Any) -> None:
        self._url = url
        self._open_timeout = open_timeout
        self._wait_open = wait_open
        self._kwargs = kwargs
        self._client: Optional[AsyncClient] = None

    async def _open(self) -> AsyncClient:
        client = AsyncClient(self._url, **self._kwargs)
        try:
            client.connect()
            if self._wait_open:
                await client.wait_state(State.CONNECTED, timeout=self._open_timeout)
        except BaseException:
            await asyncio.shield(client.close())
            raise
        return client

    def __await__(self) -> Generator[Any, None, AsyncClient]:
        return self._open().__await__()

    async def __aenter__(self) -> AsyncClient:
        self._client = await self._open()
        return self._client

    async def __aexit__(self, *exc_info: Any) -> None:
        assert self._client is not None
        await self._client.close()

    def __aiter__(self) -> AsyncIterator[Connection]:
        return iterate_connections(AsyncClient(self._url, **self._kwargs))
