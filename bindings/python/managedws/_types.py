"""Enums and value types shared by the client and the server."""
from __future__ import annotations

import dataclasses
import enum
from typing import TYPE_CHECKING, Any, Callable, Mapping, Type, TypeVar

from ._ffi import ffi, lib

__all__ = [
    "State",
    "StateChange",
    "ClientStats",
    "HeartbeatMode",
    "Jitter",
    "CloseAction",
    "MessageType",
    "ProtocolMode",
    "SessionLostMode",
    "SessionEvent",
    "SessionInfo",
]


class State(enum.IntEnum):
    """The six client states (``mws_state``)."""

    DISCONNECTED = lib.MWS_STATE_DISCONNECTED
    """Initial, and after disconnect(); connect() starts again."""
    CONNECTING = lib.MWS_STATE_CONNECTING
    """An attempt is in flight."""
    CONNECTED = lib.MWS_STATE_CONNECTED
    """Handshake done; messages flow."""
    RECONNECTING = lib.MWS_STATE_RECONNECTING
    """Waiting for the backoff timer before the next attempt."""
    FAILED = lib.MWS_STATE_FAILED
    """Permanent failure or circuit open; no retry until connect()."""
    CLOSED = lib.MWS_STATE_CLOSED
    """Closed by the application or the server; terminal."""


class HeartbeatMode(enum.IntEnum):
    """How a client checks that its connection is alive (``mws_heartbeat_mode``)."""

    PING = lib.MWS_HEARTBEAT_PING
    """RFC 6455 ping/pong (default); every server answers."""
    JSON = lib.MWS_HEARTBEAT_JSON
    """``{"type":"heartbeat",...}`` answered by ``{"type":"heartbeat_ack",...}``."""
    OFF = lib.MWS_HEARTBEAT_OFF
    """No heartbeats: a dead connection is noticed only by TCP."""


class Jitter(enum.IntEnum):
    """Randomisation of the reconnect delay d (``mws_jitter``)."""

    FULL = lib.MWS_JITTER_FULL
    """uniform [0, d] (default)."""
    EQUAL = lib.MWS_JITTER_EQUAL
    """d/2 + uniform [0, d/2]."""
    DECORRELATED = lib.MWS_JITTER_DECORRELATED
    """min(max_delay, uniform [base_delay, 3 * previous])."""
    PROPORTIONAL = lib.MWS_JITTER_PROPORTIONAL
    """d + uniform [0, jitter_proportion * d]."""
    NONE = lib.MWS_JITTER_NONE
    """d exactly."""


class CloseAction(enum.IntEnum):
    """What a client does when a connection ends with a given close code."""

    DEFAULT = lib.MWS_CLOSE_ACTION_DEFAULT
    """The built-in table."""
    RECONNECT = lib.MWS_CLOSE_ACTION_RECONNECT
    """Backoff with jitter, the attempt counted."""
    RESTART = lib.MWS_CLOSE_ACTION_RESTART
    """A random spread (restart_spread), the attempt not counted."""
    FAIL = lib.MWS_CLOSE_ACTION_FAIL
    """Go to FAILED, no retry."""
    CLOSE = lib.MWS_CLOSE_ACTION_CLOSE
    """Go to CLOSED."""


class MessageType(enum.IntEnum):
    """WebSocket message type: text arrives as ``str``, binary as ``bytes``."""

    TEXT = lib.MWS_MSG_TEXT
    BINARY = lib.MWS_MSG_BINARY


class ProtocolMode(enum.IntEnum):
    """Whether a connection speaks the managed protocol mws.v1 (``mws_protocol_mode``)."""

    OFFER = lib.MWS_PROTOCOL_OFFER
    """Offer mws.v1; a server that does not select it gets plain WebSocket (default)."""
    REQUIRE = lib.MWS_PROTOCOL_REQUIRE
    """Client only: a server that does not select mws.v1 is a failed connection."""
    PLAIN = lib.MWS_PROTOCOL_PLAIN
    """Plain WebSocket only (client: offer nothing; server: serve plain only)."""


class SessionLostMode(enum.IntEnum):
    """What a client does with its unacknowledged messages when its session was lost."""

    RESEND = lib.MWS_SESSION_LOST_RESEND
    """Write them again on the new session; possibly duplicated, counted (default)."""
    DISCARD = lib.MWS_SESSION_LOST_DISCARD
    """Free them, counted."""


class SessionEvent(enum.IntEnum):
    """What happened to an mws.v1 session (``mws_session_event``)."""

    NONE = lib.MWS_SESSION_NONE
    """A plain connection: no session."""
    STARTED = lib.MWS_SESSION_STARTED
    """A new session (the first, or after a close)."""
    RESUMED = lib.MWS_SESSION_RESUMED
    """The session went on across a reconnect: nothing lost."""
    LOST = lib.MWS_SESSION_LOST
    """The client asked to resume; the server no longer had the session."""
    SUSPENDED = lib.MWS_SESSION_SUSPENDED
    """Server: the session's connection ended; its TTL runs."""


@dataclasses.dataclass(frozen=True)
class SessionInfo:
    """A client's session event (``mws_session_info``), once per managed connection."""

    event: SessionEvent
    """STARTED, RESUMED or LOST."""
    session_id: bytes
    """The server's 16-byte id of the (new) session."""
    unacked: int
    """LOST: messages written and never acknowledged (maybe delivered)."""
    resent: int
    """LOST: of those, written again on the new session (SessionLostMode.RESEND)."""
    discarded: int
    """LOST: of those, freed (SessionLostMode.DISCARD)."""
    unsent: int
    """LOST: never written; always kept and sent."""
    discarded_first: int
    """Send numbers of the discarded messages (first..last), 0 when none."""
    discarded_last: int

    @classmethod
    def _from_c(cls, c: Any) -> "SessionInfo":
        return from_c_struct(cls, c, {"event": SessionEvent, "session_id": lambda v: bytes(ffi.buffer(v))})


@dataclasses.dataclass(frozen=True)
class StateChange:
    """One transition of a client, as the state callback is told."""

    old: State
    """The state left."""
    new: State
    """The state entered."""
    reason: str
    """"connected", "heartbeat timeout", a server's close reason, ..."""
    close_code: int
    """The WebSocket close code that caused it, 0 if none."""
    retry_delay: float
    """Into RECONNECTING: seconds before the next attempt; else 0."""
    attempt: int
    """Attempts since the last stable connection."""
    session: "SessionEvent" = SessionEvent.NONE
    """Into CONNECTED: the mws.v1 session event of this connection (NONE when plain)."""

    @classmethod
    def _from_c(cls, ch: Any) -> "StateChange":
        return cls(
            old=State(ch.__getattribute__("from")),
            new=State(ch.to),
            reason=ffi.string(ch.reason).decode("utf-8", "replace") if ch.reason else "",
            close_code=ch.close_code,
            retry_delay=ch.retry_delay_ms / 1000.0,
            attempt=ch.attempt,
            session=_session_event(ch.session),
        )


def _session_event(v: int) -> "SessionEvent | int":
    try:
        return SessionEvent(v)
    except ValueError:  # a value from a newer library
        return v


if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_D = TypeVar("_D", bound="DataclassInstance")


def from_c_struct(cls: Type[_D], c: Any, convert: Mapping[str, Callable[[Any], Any]]) -> _D:
    """The dataclass cls from the C struct c: each field is the C field of
    the same name, passed through convert[name] if there is one."""
    values = {}
    for f in dataclasses.fields(cls):
        v = getattr(c, f.name)
        values[f.name] = convert[f.name](v) if f.name in convert else v
    return cls(**values)


@dataclasses.dataclass(frozen=True)
class ClientStats:
    """A snapshot of ``mws_client_stats``: counters since the client was created."""

    state: State
    connection_id: int
    """1.. for each connection made, 0 before the first."""
    attempt: int
    """Attempts since the last stable connection."""
    attempts_total: int
    connects: int
    """Connections established."""
    reconnects: int
    """Connections established after the first."""
    refused_events: int
    """Events the state table refused."""
    heartbeats_sent: int
    heartbeat_timeouts: int
    rtt_p50_us: int
    """Heartbeat round trip, microseconds (p50, p90, p99)."""
    rtt_p90_us: int
    rtt_p99_us: int
    uptime_p50_ms: int
    """Durations of finished connections, milliseconds."""
    uptime_p90_ms: int
    uptime_p99_ms: int
    queue_messages: int
    """Accepted by send(), not yet written."""
    queue_bytes: int
    queue_full: int
    """Sends refused with QueueFull."""
    msgs_out: int
    bytes_out: int
    msgs_in: int
    bytes_in: int
    msgs_discarded: int
    """Dropped by close() before they were written (never silently)."""
    managed: bool
    """The current connection speaks mws.v1."""
    send_number: int
    """The number the last accepted send got (send() returns it)."""
    acked_number: int
    """Delivery receipts: every message numbered <= this is settled."""
    unacked: int
    """mws.v1: written, not yet acknowledged."""
    replayed: int
    """Written again after a resume."""
    duplicates_dropped: int
    """Received again after a resume, dropped."""
    sessions_started: int
    sessions_resumed: int
    sessions_lost: int
    lost_resent: int
    """Re-sent after a session loss: possibly duplicated."""
    lost_discarded: int
    """Freed after a session loss (SessionLostMode.DISCARD)."""
    protocol_errors: int
    """Malformed or unexpected mws.v1 input: closed 4002..4009."""
    batches_out: int
    """Envelopes holding more than one message."""
    goaways: int
    """goaway envelopes received."""

    @classmethod
    def _from_c(cls, c: Any) -> "ClientStats":
        return from_c_struct(cls, c, {"state": State, "managed": bool})
