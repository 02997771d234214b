"""managedws.Client: the managed client, synchronous face."""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import logging
import threading
import time
from typing import Any, Callable, Deque, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from . import _context
from ._callbacks import in_callback
from ._errors import Closed, Deadlock, Failed, InvalidArgument, Timeout, check, error_for
from ._ffi import ffi, lib, new_sized
from ._handle import HandleOwner
from ._messages import Message, close_args, encode
from ._options import CLIENT_OPTIONS, headers_text, new_config, options_doc
from ._types import ClientStats, SessionInfo, State, StateChange

__all__ = ["Client", "Credentials"]

logger = logging.getLogger("managedws")

_send_one = lib._mws_py_send  # build_ffi.py: the number, or a negative MWS_E... code
_BINARY = lib.MWS_MSG_BINARY
_TEXT = lib.MWS_MSG_TEXT


@dataclasses.dataclass
class Credentials:
    """What an ``on_credentials`` hook returns for one connection attempt.

    ``headers`` are added to the handshake; ``query`` replaces the URL's query
    string (a ``str`` without ``?``, or a mapping that is URL-encoded).
    """

    headers: Optional[Union[Mapping[str, str], Iterable[Tuple[str, str]]]] = None
    query: Optional[Union[str, Mapping[str, str]]] = None


class Client(HandleOwner[ClientStats]):
    __doc__ = (
        """A WebSocket client that stays up: reconnects with backoff and jitter,
detects dead connections with heartbeats, and queues what you send while it
is away, delivering it in order once the connection is back.

    client = managedws.Client("ws://127.0.0.1:8765/", on_message=print)
    client.connect()
    client.send("hello")            # queued until connected, then sent
    ...
    client.close()

or ``with managedws.Client(url, on_message=...) as client:``, which connects
on entry and on exit closes, waits up to ``close_timeout`` for CLOSED and
releases the C client.

Nothing connects until connect() (or ``with``). Callbacks are fixed at
construction:

- ``on_message(message)``: ``str`` for text, ``bytes`` for binary;
- ``on_messages(messages)``: instead of on_message, a list of them: all
  that one pass of the I/O loop read, in order (one call into Python for
  the lot, where on_message costs one call each);
- ``on_open(client)``: at every CONNECTED, before the messages that waited
  in the offline queue are written: what it sends (a resubscription) goes
  first; it may also clear_queue();
- ``on_state(change)``: a StateChange for every transition;
- ``on_credentials(attempt, last_http_status)``: called before every
  connection attempt; return a Credentials (or a dict with "headers" and/or
  "query"), None to go on unchanged, or False to fail the client;
- ``on_session(info)``: mws.v1 only, a SessionInfo on each managed
  connection (STARTED, RESUMED, or LOST with what became of the
  unacknowledged messages), just before the transition to CONNECTED;
- ``on_acked(number)``: mws.v1 only, every message whose send number (what
  send() returned) is <= number is settled: acknowledged by the server's
  session (or, after a LOST event in discard mode, discarded).

Against a managedws server the client speaks mws.v1 (protocol_mode): what
it sends while the connection is down is neither lost, duplicated nor
reordered when a reconnect resumes the session; ``flush()`` and
``wait_acked()`` wait for the server's acknowledgements. Against another
server it is plain WebSocket, where a written message counts as settled.

THE CALLBACKS RUN ON THE LIBRARY'S I/O THREAD, which serves every
connection of the process: keep them short and never block in them (no
sleep, no network, no wait_state()). They may call send(), close(),
disconnect(). An exception they raise is logged on the ``managedws`` logger,
counted in ``callback_errors``, and the connection goes on. For work that
takes time, use the asyncio face (managedws.connect), which runs your code
on the event loop instead.

``own_context=True`` gives the client its own I/O thread, so that slow
callbacks elsewhere in the process cannot stall it (and the other way round).

State changes are logged on the ``managedws`` logger: INFO, and WARNING for
a failed attempt or FAILED.

Options (keywords; None means the library's default; durations in seconds):

"""
        + options_doc(CLIENT_OPTIONS)
        + """

Errors raise ManagedWSError subclasses: InvalidArgument for a bad URL or
option, QueueFull when the send queue is full, Closed after close(), Failed
in the FAILED state.
"""
    )

    _released_text = "client released"
    _no_stats_text = "client released before any stats were read"

    def __init__(
        self,
        url: str,
        *,
        on_message: Optional[Callable[[Message], Any]] = None,
        on_messages: Optional[Callable[[List[Message]], Any]] = None,
        on_state: Optional[Callable[[StateChange], Any]] = None,
        on_credentials: Optional[Callable[[int, int], Any]] = None,
        on_open: Optional[Callable[["Client"], Any]] = None,
        on_session: Optional[Callable[[SessionInfo], Any]] = None,
        on_acked: Optional[Callable[[int], Any]] = None,
        close_timeout: float = 10.0,
        own_context: bool = False,
        **options: Any,
    ) -> None:
        if not isinstance(url, str):
            raise TypeError("url must be str, not %s" % type(url).__name__)
        for name, fn in (("on_message", on_message), ("on_messages", on_messages), ("on_state", on_state),
                         ("on_credentials", on_credentials), ("on_open", on_open)):
            if fn is not None and not callable(fn):
                raise TypeError("%s must be callable, not %s" % (name, type(fn).__name__))
        self.url = url
        self.on_open = on_open
        self.on_message = on_message
        self.on_messages = on_messages
        self.on_state = on_state
        self.on_credentials = on_credentials
        self.on_session = on_session
        self.on_acked = on_acked
        self.close_timeout = close_timeout
        #: The SessionInfo of the latest managed connection, None before one.
        self.session: Optional[SessionInfo] = None
        self._acked = 0  # the highest number on_acked reported
        #: Exceptions raised by this client's callbacks so far (each was logged).
        self.callback_errors = 0
        self._cond = threading.Condition()
        self._seq = 0
        self._history: Deque[Tuple[int, StateChange]] = collections.deque(maxlen=64)
        self._last_change: Optional[StateChange] = None
        self._seen = State.DISCONNECTED  # the state as the callbacks have told it

        cfg, keep = new_config("mws_client_config", lib.mws_client_config_init, CLIENT_OPTIONS, options, "Client()")
        out = ffi.new("mws_client **")
        ctx = _context.new_context() if own_context else _context.shared_context()
        rc = lib.mws_client_new(out, ctx, url.encode("utf-8"), cfg)
        del keep
        if rc < 0:
            if own_context:
                _context.free_context(ctx)
            if rc == lib.MWS_EINVAL:
                from ._urls import url_problem

                raise InvalidArgument("Client(%r): %s" % (url, url_problem(url) or "invalid option value"))
            check(rc, "Client(%r)" % url)
        free = lib.mws_client_free
        if own_context:
            def free(ptr: Any, _ctx: Any = ctx) -> None:
                lib.mws_client_free(ptr)
                if not in_callback():  # else freed at exit: not from its own thread
                    _context.free_context(_ctx)
        cbs = new_sized("mws_client_callbacks")
        cbs.on_state = lib._mws_py_client_state
        cbs.on_message = lib._mws_py_client_message
        # Batches: one crossing per pass of the I/O loop (on_message is
        # then not called by the library).
        cbs.on_messages = lib._mws_py_client_messages
        cbs.on_credentials = lib._mws_py_client_credentials if on_credentials else ffi.NULL
        cbs.on_acked = lib._mws_py_client_acked
        cbs.on_session = lib._mws_py_client_session
        self._own(out[0], free, lib.mws_client_set_callbacks, cbs, "mws_client_set_callbacks")

    # ---- plumbing ----

    def __repr__(self) -> str:
        return "<managedws.Client %s %s>" % (self.url, self.state.name)

    # ---- called on the I/O thread (see _callbacks) ----

    def _io_state(self, cchange: Any) -> None:
        change = StateChange._from_c(cchange)
        self._last_change = change
        _log_change(self.url, change)
        if change.new == State.CONNECTED:
            # Inside the C callback: what on_open sends goes before the queue.
            self._user("on_open", self.on_open, self)
        self._user("on_state", self.on_state, change)
        # After the user's callback: wait_state() returns only once on_state
        # has seen the transition it returns for.
        with self._cond:
            self._seq += 1
            self._history.append((self._seq, change))
            self._seen = change.new
            self._cond.notify_all()

    def _io_message(self, message: Message) -> None:
        self._user("on_message", self.on_message, message)

    def _io_messages(self, messages: List[Message]) -> None:
        if self.on_messages is not None:
            self._user("on_messages", self.on_messages, messages)
            return
        fn = self.on_message
        if fn is not None:
            for message in messages:
                self._user("on_message", fn, message)

    def _io_session(self, cinfo: Any) -> None:
        info = SessionInfo._from_c(cinfo)
        self.session = info
        self._user("on_session", self.on_session, info)

    def _io_acked(self, number: int) -> None:
        self._user("on_acked", self.on_acked, number)
        with self._cond:
            self._acked = max(self._acked, number)
            self._cond.notify_all()

    def _io_credentials(self, creds: Any) -> int:
        cb = self.on_credentials
        if cb is None:
            return 0
        return int(self._user("on_credentials", _ask_credentials, cb, creds, failed=-1))

    # ---- public API ----

    @property
    def state(self) -> State:
        """The current state, read from the library (any thread)."""
        ptr = self._cptr()
        if ptr is None:
            return State.CLOSED
        return State(lib.mws_client_state(ptr))

    @property
    def last_change(self) -> Optional[StateChange]:
        """The most recent StateChange, or None before the first."""
        return self._last_change

    def connect(self) -> None:
        """Starts connecting (DISCONNECTED or FAILED -> CONNECTING); returns at once.

        InvalidState if already connecting or connected, Closed once closed.
        """
        check(lib.mws_client_connect(self._ptr()), "connect")

    def reconnect_now(self) -> None:
        """Skips the pending backoff wait ("the network is back").

        InvalidState unless RECONNECTING.
        """
        check(lib.mws_client_reconnect_now(self._ptr()), "reconnect_now")

    def disconnect(self, code: int = 1000, reason: Optional[str] = None) -> None:
        """Closes the connection and goes to DISCONNECTED; connect() may follow.

        Queued messages stay queued. ``code`` is 1000 or 3000-4999.
        """
        c, r = close_args(code, reason)
        check(lib.mws_client_disconnect(self._ptr(), c, r), "disconnect")

    def close(self, code: int = 1000, reason: Optional[str] = None) -> None:
        """Closes for good (-> CLOSED, no attempt after); returns at once.

        Messages not yet written are discarded (counted in stats). Calling it
        again, or after release(), does nothing.
        """
        c, r = close_args(code, reason)
        ptr = self._cptr()
        if ptr is None:
            return
        rc = lib.mws_client_close(ptr, c, r)
        if rc != lib.MWS_ECLOSED:
            check(rc, "close")

    def send(self, message: Union[str, bytes, bytearray, memoryview]) -> int:
        """Sends ``str`` as a text message, bytes-like as binary. Never blocks.

        While not connected the message waits in the queue and goes out in
        order once connected. Returns the message's send number (1, 2, ...
        per client; see wait_acked()). QueueFull when the queue is at its
        bounds, Closed once closed, Failed in FAILED.
        """
        # The hot path, one crossing: bytes and encoded str go to C as they
        # are (CFFI passes the object's own buffer); the number comes back
        # as the result. No method calls on the way: each costs as much as
        # the C send itself (measured: bench/README.md, "Python binding").
        core = self._core
        ptr = core.ptr if core is not None else None
        if ptr is None:
            raise Closed(self._released_text)
        tp = type(message)
        if tp is bytes:
            n = _send_one(ptr, message, len(message), _BINARY)
        elif tp is str:
            data = message.encode("utf-8")
            n = _send_one(ptr, data, len(data), _TEXT)
        else:
            buf, size, t = encode(message)
            n = _send_one(ptr, buf, size, t)
        if n > 0:
            return n
        exc = error_for(n, "send")
        if isinstance(exc, Failed) and self._last_change is not None:
            exc.close_code = self._last_change.close_code
            exc.reason = self._last_change.reason
        raise exc

    def send_many(self, messages: Iterable[Union[str, bytes, bytearray, memoryview]]) -> int:
        """Sends each message in order, as send() would, with one call into
        the library (one lock, one wake of its I/O thread): for an
        application that sends in a loop. Returns the send number of the
        last message (0 for none). If a message is refused (QueueFull,
        TooBig, ...), raises that error with ``accepted`` set on it: the
        messages before it were accepted, none after it.
        """
        msgs = messages if isinstance(messages, (list, tuple)) else list(messages)
        n = len(msgs)
        if not n:
            return 0
        joined, lens, types = _pack(msgs)
        acc = ffi.new("size_t *")
        first = ffi.new("uint64_t *")
        rc = lib._mws_py_send_packed(self._ptr(), joined, lens, types, lib.MWS_MSG_BINARY, n, acc, first)
        if rc < 0:
            exc = error_for(rc, "send_many")
            exc.accepted = int(acc[0])  # type: ignore[attr-defined]
            if isinstance(exc, Failed) and self._last_change is not None:
                exc.close_code = self._last_change.close_code
                exc.reason = self._last_change.reason
            raise exc
        return int(first[0]) + n - 1

    def cork(self, corked: bool = True) -> None:
        """While corked, a send wakes the library's I/O thread only every 64
        sends instead of each time; cork(False) wakes it once for what
        waits. For a loop of single sends (``with client.corked():``);
        send_many() needs none."""
        check(lib.mws_client_cork(self._ptr(), 1 if corked else 0), "cork")

    @contextlib.contextmanager
    def corked(self) -> Iterator[None]:
        """``with client.corked(): ...sends...``: cork(), then cork(False)."""
        self.cork(True)
        try:
            yield
        finally:
            if self._cptr() is not None:
                self.cork(False)

    @property
    def acked_number(self) -> int:
        """Delivery receipts: every message whose send number is <= this is
        settled (acknowledged by the server's mws.v1 session; on a plain
        connection, written). Any thread."""
        ptr = self._cptr()
        if ptr is None:
            return self._acked
        return max(self._acked, self.stats().acked_number)

    def wait_room(self, size: int = 0, timeout: Optional[float] = None) -> None:
        """Blocks until the send queue has fallen to half of its bounds and a
        message of ``size`` bytes would be accepted: what to do after
        QueueFull, rather than retrying on a timer (one wake buys many
        sends). Timeout after ``timeout`` seconds (None: no limit); Closed /
        Failed once the client is; Deadlock from a callback; MessageTooBig
        when ``size`` is over queue_max_bytes. Releases the GIL while it
        waits. While not connected it waits for a connection to drain it."""
        if size < 0 or (timeout is not None and timeout < 0):
            raise ValueError("size and timeout must not be negative")
        ms = -1 if timeout is None else min(int(timeout * 1000 + 0.999), 2**31 - 1)
        check(lib.mws_client_wait_room(self._ptr(), size, ms), "wait_room")

    def wait_acked(self, number: int, timeout: Optional[float] = None) -> None:
        """Blocks until the message with send ``number`` (what send() returned)
        is settled. Timeout after ``timeout`` seconds; Closed / Failed if the
        client reaches CLOSED / FAILED first; Deadlock from a callback."""
        if in_callback():
            raise Deadlock("wait_acked() inside a callback would block the I/O thread")
        began = time.monotonic()
        with self._cond:
            while True:
                if self.acked_number >= number:
                    return
                st = self._seen if self._cptr() is not None else State.CLOSED
                if st in (State.CLOSED, State.FAILED):
                    ch = self._last_change
                    why = "%s (code %d)" % (ch.reason, ch.close_code) if ch else ""
                    what = "message %d not acknowledged: client %s %s" % (number, st.name.lower(), why)
                    raise Closed(what) if st == State.CLOSED else Failed(what)
                # on_acked wakes us on a managed connection; a plain one has
                # no acks (a written message is settled), so look again
                # every 100 ms as well.
                step = 0.1
                if timeout is not None:
                    left = began + timeout - time.monotonic()
                    if left <= 0:
                        raise Timeout("message %d not acknowledged after %.3g s (acked %d)"
                                      % (number, timeout, self.acked_number))
                    step = min(step, left)
                self._cond.wait(step)

    def flush(self, timeout: Optional[float] = None) -> None:
        """Blocks until every message sent so far is settled (see wait_acked())."""
        self.wait_acked(self.stats().send_number, timeout)

    def clear_queue(self) -> None:
        """Discards the messages sent before this call and not yet written
        (counted in stats().msgs_discarded); later sends are kept. Any thread."""
        check(lib.mws_client_clear_queue(self._ptr()), "clear_queue")

    def pause_rx(self, paused: bool = True) -> None:
        """Stops (True) or resumes (False) reading from the socket, for this
        connection and the next ones; while paused, heartbeat answers cannot
        be read and so are not required. Any thread."""
        check(lib.mws_client_pause_rx(self._ptr(), 1 if paused else 0), "pause_rx")

    def release_queue(self) -> None:
        """With ``hold_queue_on_connect``: lets the held offline queue go,
        after what was sent since the connection opened."""
        check(lib.mws_client_release_queue(self._ptr()), "release_queue")

    @property
    def server_connection_id(self) -> Optional[str]:
        """The server's id for the current connection, as its JSON
        ``connection_ack`` gave it (a number as its digits), or None when none
        came (any thread)."""
        ptr = self._cptr()
        if ptr is None:
            return None
        buf = ffi.new("char[]", 256)
        n = lib.mws_client_server_connection_id(ptr, buf, 256)
        if n < 0:
            raise error_for(n, "server_connection_id")
        return ffi.string(buf, n).decode("utf-8", "replace") if n > 0 else None

    def stats(self) -> ClientStats:
        """A snapshot of the client's counters (any thread)."""
        return self._read_stats("mws_client_stats", lib.mws_client_stats_get, ClientStats._from_c)

    def wait_state(self, *states: State, timeout: Optional[float] = None) -> State:
        """Blocks until the client is in (or has passed through) one of ``states``.

        Follows the transitions as the state callback reports them, and
        returns only after ``on_state`` has run for the transition it
        returns for (``state`` reads the library and may be a little ahead).
        Returns the state reached. Raises Timeout after ``timeout`` seconds,
        Closed if the client reaches CLOSED and Failed if it reaches FAILED
        while waiting for something else. Deadlock if called from a callback.
        """
        if not states:
            raise TypeError("wait_state() needs at least one state")
        targets = frozenset(State(s) for s in states)
        if in_callback():
            raise Deadlock("wait_state() inside a callback would block the I/O thread")
        began = time.monotonic()
        with self._cond:
            start = self._seq
            while True:
                for seq, change in self._history:
                    if seq > start and change.new in targets:
                        return change.new
                st = self._seen if self._cptr() is not None else State.CLOSED
                if st in targets:
                    return st
                if st == State.CLOSED:
                    raise Closed("client closed while waiting for %s" % _names(targets))
                if st == State.FAILED:
                    ch = self._last_change
                    exc = Failed(
                        "client failed while waiting for %s: %s (code %d)"
                        % (_names(targets), ch.reason if ch else "", ch.close_code if ch else 0)
                    )
                    if ch is not None:
                        exc.close_code, exc.reason = ch.close_code, ch.reason
                    raise exc
                if timeout is None:
                    self._cond.wait()
                else:
                    left = began + timeout - time.monotonic()
                    if left <= 0:
                        raise Timeout("still %s after %.3g s waiting for %s" % (st.name, timeout, _names(targets)))
                    self._cond.wait(left)

    def release(self) -> None:
        """Frees the C client now (closing it first if needed).

        Blocks until the I/O thread no longer uses it, which is short. After
        it, send()/connect() raise Closed, ``state`` is CLOSED and stats()
        returns the last snapshot. Done automatically when the Client is
        garbage collected or at interpreter exit. Must not race with other
        calls on this Client from other threads.
        """
        self._release()

    def __enter__(self) -> "Client":
        if self.state in (State.DISCONNECTED, State.FAILED):
            self.connect()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
        if not in_callback():
            try:
                self.wait_state(State.CLOSED, timeout=self.close_timeout)
            except Exception:
                pass
        self.release()


def _log_change(url: str, ch: StateChange) -> None:
    # A failed attempt (or the end) is a warning; the rest is news.
    bad = ch.new == State.FAILED or (ch.new == State.RECONNECTING and ch.old == State.CONNECTING)
    if ch.new == State.RECONNECTING:
        logger.log(logging.WARNING if bad else logging.INFO, "%s: %s -> %s: %s (code %d), retry in %.3f s",
                   url, ch.old.name, ch.new.name, ch.reason, ch.close_code, ch.retry_delay)
    else:
        logger.log(logging.WARNING if bad else logging.INFO, "%s: %s -> %s: %s (code %d)",
                   url, ch.old.name, ch.new.name, ch.reason, ch.close_code)


def _pack(msgs: Sequence[Any]) -> Tuple[bytes, Any, Any]:
    """(payloads back to back, size_t[] lengths, int[] types or NULL when
    all are binary) for _mws_py_send_packed."""
    try:
        joined = b"".join(msgs)  # bytes-like only: all binary
        payloads: Sequence[Any] = msgs
        types = ffi.NULL
    except TypeError:
        payloads, kinds = [], []
        for m in msgs:
            if isinstance(m, str):
                payloads.append(m.encode("utf-8"))
                kinds.append(lib.MWS_MSG_TEXT)
            elif isinstance(m, (bytes, bytearray, memoryview)):
                payloads.append(m)
                kinds.append(lib.MWS_MSG_BINARY)
            else:
                raise TypeError("send_many() takes str (text) or bytes-like (binary) messages, not %s"
                                % type(m).__name__) from None
        joined = b"".join(payloads)
        types = ffi.new("int[]", kinds)
    lens = [len(p) for p in payloads]
    if sum(lens) != len(joined):  # memoryviews of items wider than a byte
        payloads = [bytes(p) for p in payloads]
        lens = [len(p) for p in payloads]
        joined = b"".join(payloads)
    return joined, ffi.new("size_t[]", lens), types


def _names(states: Iterable[State]) -> str:
    return "/".join(sorted(s.name for s in states))


def _ask_credentials(cb: Callable[[int, int], Any], creds: Any) -> int:
    # What raises here, the hook or a bad answer of it, fails the attempt.
    result = cb(lib.mws_credentials_attempt(creds), lib.mws_credentials_last_http_status(creds))
    if result is False:
        return -1
    if result is None or result is True:
        return 0
    if isinstance(result, Mapping):
        result = Credentials(**result)
    if result.headers:
        for line in headers_text("headers", result.headers).split("\n"):
            name, _, value = line.partition(": ")
            check(lib.mws_credentials_set_header(creds, name.encode(), value.encode()))
    if result.query is not None:
        q = result.query
        if isinstance(q, Mapping):
            import urllib.parse

            q = urllib.parse.urlencode(q)
        check(lib.mws_credentials_set_query(creds, str(q).encode()))
    return 0
