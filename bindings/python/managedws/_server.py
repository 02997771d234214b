"""managedws.Server: the server side (needs a library built with the server)."""
from __future__ import annotations

import dataclasses
import enum
from typing import Any, Callable, Dict, Optional, Union

from . import _context
from ._callbacks import in_callback
from ._errors import Closed, check
from ._ffi import ffi, lib, new_sized
from ._handle import HandleOwner
from ._messages import Message, close_args, encode
from ._options import SERVER_OPTIONS, new_config, options_doc
from ._types import SessionEvent, from_c_struct

__all__ = ["Server", "ConnInfo", "DisconnectReason", "RefuseReason", "ServerStats"]


class DisconnectReason(enum.IntEnum):
    """Why a server connection ended (``mws_disconnect_why``)."""

    PEER_CLOSED = lib.MWS_DISCONNECT_PEER_CLOSED
    REAPED = lib.MWS_DISCONNECT_REAPED
    TOO_BIG = lib.MWS_DISCONNECT_TOO_BIG
    SHUTDOWN = lib.MWS_DISCONNECT_SHUTDOWN
    SERVER_CLOSED = lib.MWS_DISCONNECT_SERVER_CLOSED
    ERROR = lib.MWS_DISCONNECT_ERROR
    INVALID_MESSAGE = lib.MWS_DISCONNECT_INVALID_MESSAGE
    """json_protocol: a text message that was not JSON (1003)."""
    EXPIRED = lib.MWS_DISCONNECT_EXPIRED
    """mws.v1: the session stayed suspended longer than session_ttl."""
    PROTOCOL_ERROR = lib.MWS_DISCONNECT_PROTOCOL_ERROR
    """mws.v1: malformed or unexpected input (4002..4013)."""
    MOVED = lib.MWS_DISCONNECT_MOVED
    """mws.v1 with session_store: the session resumed on another node."""


class RefuseReason(enum.IntEnum):
    """Why a handshake was refused (``mws_refuse_reason``)."""

    RATE_LIMITED = lib.MWS_REFUSE_RATE_LIMITED
    MAX_CONNECTIONS = lib.MWS_REFUSE_MAX_CONNECTIONS
    ORIGIN = lib.MWS_REFUSE_ORIGIN
    AUTH = lib.MWS_REFUSE_AUTH
    SHUTDOWN = lib.MWS_REFUSE_SHUTDOWN


class ConnInfo:
    """A connection's handshake, for ``on_auth`` and ``on_connect``.

    ``peer_ip``, ``path`` (with the query), ``origin`` and ``subprotocol``
    are plain strings ("" when absent) and stay valid. ``header(name)``
    reads any request header, but only during the callback that received
    this object (the library frees the request after it).
    """

    __slots__ = ("peer_ip", "path", "origin", "subprotocol", "_c")

    def __init__(self, c: Any) -> None:
        def s(p: Any) -> str:
            return ffi.string(p).decode("utf-8", "replace") if p != ffi.NULL else ""

        self.peer_ip = s(c.peer_ip)
        self.path = s(c.path)
        self.origin = s(c.origin)
        self.subprotocol = s(c.subprotocol)
        self._c = c

    def header(self, name: str) -> Optional[str]:
        """A request header (case-insensitive name, no colon), or None if absent."""
        if self._c is None:
            raise Closed("ConnInfo.header() is only valid during the callback")
        cap = 256
        while True:
            buf = ffi.new("char[]", cap)
            n = lib.mws_conn_info_header(self._c, name.encode(), buf, cap)
            if n == lib.MWS_ETOOBIG and cap < 1 << 20:
                cap *= 8
                continue
            check(n, "header")
            return ffi.string(buf, n).decode("utf-8", "replace") if n else None

    def __repr__(self) -> str:
        return "ConnInfo(peer_ip=%r, path=%r, origin=%r, subprotocol=%r)" % (
            self.peer_ip, self.path, self.origin, self.subprotocol)


@dataclasses.dataclass(frozen=True)
class ServerStats:
    """A snapshot of ``mws_server_stats``."""

    connections: int
    """Open now."""
    accepted: int
    """Connections that reached on_connect."""
    refused: Dict[RefuseReason, int]
    """Handshakes refused, by reason."""
    refused_total: int
    reaped: int
    """Closed with 4000 for silence."""
    too_big: int
    """Closed with 1009."""
    disconnects: int
    msgs_in: int
    bytes_in: int
    msgs_out: int
    bytes_out: int
    heartbeats_in: int
    """JSON heartbeats answered."""
    pings_sent: int
    pongs_in: int
    send_dropped: int
    """Queued for a connection that ended first, or skipped by a broadcast."""
    rtt_p50_us: int
    rtt_p90_us: int
    rtt_p99_us: int
    duration_p50_ms: int
    duration_p90_ms: int
    duration_p99_ms: int
    shutting_down: bool
    invalid_messages: int
    """json_protocol: text that was not JSON, closed with 1003."""
    send_queue_full: int
    """Sends refused because the connection's queue was full."""
    handshakes_over_address_limit: int
    """Connections closed at accept: too many handshakes from their address."""
    headers_too_large: int
    """Requests answered with 431."""
    sessions_active: int
    """mws.v1 sessions carried by a connection now."""
    sessions_suspended: int
    """mws.v1 sessions waiting for a resume."""
    sessions_created: int
    sessions_resumed: int
    sessions_expired: int
    protocol_errors: int
    """Closed 4002..4009 for the client's input."""
    replayed: int
    """Messages written again after a resume."""
    duplicates_dropped: int
    batches_out: int
    """Envelopes holding more than one message."""
    goaways_sent: int
    session_msgs_dropped: int
    """mws.v1: messages a session still held (unacknowledged or unsent) when it ended."""
    paused_connections: int
    """Open connections paused by pause_rx (or an asyncio server's max_queue)."""

    @classmethod
    def _from_c(cls, c: Any) -> "ServerStats":
        return from_c_struct(cls, c, {"refused": _refused_by_reason, "shutting_down": bool})


def _refused_by_reason(counts: Any) -> Dict[RefuseReason, int]:
    return {r: int(counts[r]) for r in RefuseReason}


class Server(HandleOwner[ServerStats]):
    __doc__ = (
        """A WebSocket server that watches its clients: heartbeat reaping,
limits, an auth hook at the handshake, broadcast from any thread and a
graceful shutdown. Connections are ints (ids), never objects: a stale id
raises Closed.

    with managedws.Server(port=0, iface="127.0.0.1", on_message=...) as srv:
        print(srv.port)
        ...

Callbacks, fixed at construction:

- ``on_auth(info) -> None | int``: at the handshake; None/0/True accepts,
  an HTTP status (400..599) refuses, False refuses with 403;
- ``on_connect(conn, info)``: the connection is open;
- ``on_message(conn, message)``: ``str`` for text, ``bytes`` for binary;
- ``on_disconnect(conn, code, reason, why)``: exactly once per connection;
  ``why`` is a DisconnectReason;
- ``on_session(conn, event)``: mws.v1 only, SessionEvent.SUSPENDED when a
  session's connection ended (its TTL runs) and SessionEvent.RESUMED when
  the client came back.

For an mws.v1 client ``conn`` is its session's id, stable across resumes:
on_connect fires once per session and on_disconnect once when it ends
(closed with 1000 by either side, close_connection(), TTL passed:
DisconnectReason.EXPIRED, server closed). send() to a suspended session is
kept (session_max_messages / session_max_bytes) and delivered on resume.

THE CALLBACKS RUN ON THE LIBRARY'S I/O THREAD, shared by every client and
server of the process: keep them short and never block. They may call
send(), broadcast(), close_connection(). An exception they raise is logged
on the ``managedws`` logger and counted in ``callback_errors``; one raised
by on_auth refuses the handshake with 500.

Options (keywords; None means the library's default; durations in seconds):

"""
        + options_doc(SERVER_OPTIONS)
    )

    _released_text = "server closed"
    _no_stats_text = "server closed"

    def __init__(
        self,
        port: int = 0,
        *,
        on_auth: Optional[Callable[[ConnInfo], Any]] = None,
        on_connect: Optional[Callable[[int, ConnInfo], Any]] = None,
        on_message: Optional[Callable[[int, Message], Any]] = None,
        on_disconnect: Optional[Callable[[int, int, str, DisconnectReason], Any]] = None,
        on_session: Optional[Callable[[int, SessionEvent], Any]] = None,
        start: bool = True,
        own_context: bool = False,
        **options: Any,
    ) -> None:
        self.on_auth = on_auth
        self.on_connect = on_connect
        self.on_message = on_message
        self.on_disconnect = on_disconnect
        self.on_session = on_session
        #: Exceptions raised by this server's callbacks so far (each was logged).
        self.callback_errors = 0
        cfg, keep = new_config("mws_server_config", lib.mws_server_config_init, SERVER_OPTIONS,
                               dict(options, port=port), "Server()")
        out = ffi.new("mws_server **")
        ctx = _context.new_context() if own_context else _context.shared_context()
        rc = lib.mws_server_new(out, ctx, cfg)
        del keep
        if rc < 0 and own_context:
            _context.free_context(ctx)
        check(rc, "Server()")
        free = lib.mws_server_free
        if own_context:
            def free(ptr: Any, _ctx: Any = ctx) -> None:
                lib.mws_server_free(ptr)
                if not in_callback():  # else freed at exit: not from its own thread
                    _context.free_context(_ctx)
        cbs = new_sized("mws_server_callbacks")
        cbs.on_auth = lib._mws_py_server_auth if on_auth else ffi.NULL
        cbs.on_connect = lib._mws_py_server_connect
        cbs.on_message = lib._mws_py_server_message
        cbs.on_disconnect = lib._mws_py_server_disconnect
        cbs.on_session = lib._mws_py_server_session if on_session else ffi.NULL
        self._own(out[0], free, lib.mws_server_set_callbacks, cbs, "mws_server_set_callbacks")
        if start:
            self.start()

    # ---- I/O thread ----

    def _io_auth(self, cinfo: Any) -> int:
        info = ConnInfo(cinfo)
        try:
            r = self._user("on_auth", self.on_auth, info, failed=500)
        finally:
            info._c = None
        if r is None or r is True or r == 0:
            return 0
        if r is False:
            return 403
        return int(r)

    def _io_connect(self, conn: int, cinfo: Any) -> None:
        info = ConnInfo(cinfo)
        try:
            self._user("on_connect", self.on_connect, conn, info)
        finally:
            info._c = None

    def _io_message(self, conn: int, message: Message) -> None:
        self._user("on_message", self.on_message, conn, message)

    def _io_disconnect(self, conn: int, code: int, reason: str, why: int) -> None:
        try:
            w: Union[DisconnectReason, int] = DisconnectReason(why)
        except ValueError:
            w = why
        self._user("on_disconnect", self.on_disconnect, conn, code, reason, w)

    def _io_session(self, conn: int, event: int) -> None:
        try:
            e: Union[SessionEvent, int] = SessionEvent(event)
        except ValueError:
            e = event
        self._user("on_session", self.on_session, conn, e)

    # ---- public API ----

    def start(self) -> None:
        """Starts listening; returns once bound. ListenError if it cannot bind."""
        check(lib.mws_server_start(self._ptr()), "start")

    @property
    def port(self) -> int:
        """The port listened on (the chosen one for port 0); 0 before start()."""
        return lib.mws_server_port(self._ptr())

    @property
    def url(self) -> str:
        return "ws://127.0.0.1:%d/" % self.port

    def send(self, conn: int, message: Union[str, bytes, bytearray, memoryview]) -> None:
        """Queues a message for one connection (str: text, bytes-like: binary).

        Never blocks. Closed for an id no longer connected, QueueFull over
        send_queue_max_bytes. Any thread.
        """
        buf, n, t = encode(message)
        check(lib.mws_server_send(self._ptr(), conn, buf, n, t), "send")

    def broadcast(self, message: Union[str, bytes, bytearray, memoryview]) -> None:
        """Queues a message for every open connection (one copy). Any thread."""
        buf, n, t = encode(message)
        check(lib.mws_server_broadcast(self._ptr(), buf, n, t), "broadcast")

    def pause_rx(self, conn: int, paused: bool = True) -> None:
        """Stops (True) or resumes (False) reading one connection: TCP then
        slows its client. While paused it is not reaped for silence and
        tells the client it is alive; an mws.v1 session stays paused across
        resumes. Closed for a stale id. Any thread."""
        check(lib.mws_server_pause_rx(self._ptr(), conn, 1 if paused else 0), "pause_rx")

    def close_connection(self, conn: int, code: int = 1000, reason: Optional[str] = None) -> None:
        """Closes one connection after what was sent to it before. Closed for a stale id."""
        c, r = close_args(code, reason)
        check(lib.mws_server_close(self._ptr(), conn, c, r), "close_connection")

    def shutdown(self, code: int = 1012, spread: float = 0.0, deadline: float = 5.0) -> bool:
        """Graceful shutdown: refuse new handshakes, close everyone with ``code``.

        Each client is told ``retry-after`` uniform in [0, spread] seconds;
        waits up to ``deadline`` seconds for the close handshakes. Blocks;
        returns True if every connection closed in time, False if some were
        dropped. From a callback it starts the shutdown and returns at once.
        """
        rc = lib.mws_server_shutdown(self._ptr(), code, int(spread * 1000), max(1, int(deadline * 1000)))
        if rc == lib.MWS_ETIMEDOUT:
            return False
        check(rc, "shutdown")
        return True

    def stats(self) -> ServerStats:
        """A snapshot of the server's counters (any thread)."""
        return self._read_stats("mws_server_stats", lib.mws_server_stats_get, ServerStats._from_c)

    def close(self) -> None:
        """Stops listening, closes open connections with 1001 and frees the server.

        Blocks up to about a second for the close frames. Idempotent; done
        automatically when the Server is garbage collected or at exit.
        """
        self._release()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._cptr() is None:
            return "<managedws.Server closed>"
        return "<managedws.Server port %d>" % self.port
