"""Keyword options <-> C config structs, one table per struct.

Every field of ``mws_client_config`` has a Python name here (the C name
without the ``_ms`` suffix; durations are seconds as floats, like the
``websockets`` package). ``None`` -- the default of every option -- leaves the
field at 0, which the C library reads as its documented default. A test
checks that each C field is covered, so a field added to the header fails
the build's tests until it is given a name here.
"""
from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Callable, Dict, Iterable, List, Mapping, Sequence, Tuple, Union

from ._errors import InvalidArgument, check
from ._ffi import ffi
from ._types import CloseAction, HeartbeatMode, Jitter, ProtocolMode, SessionLostMode

__all__ = ["Option", "CLIENT_OPTIONS", "SERVER_OPTIONS", "apply_options", "new_config", "options_doc"]

Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]]]


@dataclasses.dataclass(frozen=True)
class Option:
    name: str
    """Python keyword."""
    field: str
    """C field of the config struct."""
    kind: str
    """seconds, int, size, float, str, path, bool, jitter, heartbeat, headers, close_rules."""
    default: str
    """The default, as documented (the C library applies it)."""
    doc: str


def _ms(name: str, v: Any) -> int:
    try:
        s = float(v)
    except (TypeError, ValueError):
        raise TypeError("%s: seconds expected, got %r" % (name, v)) from None
    if math.isnan(s) or s < 0 or s > 2_000_000:
        raise InvalidArgument("%s: %r seconds is out of range" % (name, v))
    ms = int(round(s * 1000))
    return 1 if ms == 0 and s > 0 else ms  # a positive duration never becomes "default"


def _int(name: str, v: Any, lo: int = 0, hi: int = 2**31 - 1) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError("%s: int expected, got %r" % (name, v))
    if not lo <= v <= hi:
        raise InvalidArgument("%s: %r is out of range" % (name, v))
    return v


def _cstr(name: str, v: Any, keep: List[Any]) -> Any:
    if isinstance(v, os.PathLike):
        v = os.fspath(v)
    if isinstance(v, str):
        v = v.encode("utf-8")
    if not isinstance(v, bytes):
        raise TypeError("%s: str expected, got %r" % (name, v))
    if b"\0" in v:
        raise InvalidArgument("%s: NUL character" % name)
    p = ffi.new("char[]", v)
    keep.append(p)
    return p


def _float(name: str, v: Any) -> float:
    if isinstance(v, bool):
        raise TypeError("%s: number expected, got %r" % (name, v))
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise TypeError("%s: number expected, got %r" % (name, v)) from None
    if math.isnan(f) or f < 0:
        raise InvalidArgument("%s: %r is out of range" % (name, v))
    return f


def headers_text(name: str, v: Headers) -> str:
    """{"A": "1"} or [("A", "1")] -> "A: 1\\n" lines; refuses CR, LF and ':' in names."""
    items = v.items() if isinstance(v, Mapping) else v
    lines = []
    for k, val in items:
        k, val = str(k), str(val)
        if not k or any(c in k for c in "\r\n:\0 ") or any(c in val for c in "\r\n\0"):
            raise InvalidArgument("%s: bad header %r: %r" % (name, k, val))
        lines.append("%s: %s" % (k, val))
    return "\n".join(lines)


def _enum(enum_cls: Any) -> Callable[[str, Any], int]:
    def conv(name: str, v: Any) -> int:
        if isinstance(v, str):
            try:
                return int(enum_cls[v.upper()])
            except KeyError:
                raise InvalidArgument("%s: unknown value %r" % (name, v)) from None
        try:
            return int(enum_cls(v))
        except ValueError:
            raise InvalidArgument("%s: unknown value %r" % (name, v)) from None

    return conv


def _off(v: Any) -> bool:
    """False or negative: the feature is off (None, the default, never gets here)."""
    return v is False or (not isinstance(v, bool) and v < 0)


_action = _enum(CloseAction)

#: kind -> (keyword, value) -> field value, for the kinds that set one field
#: and need no cdata kept alive.
_SCALARS: Dict[str, Callable[[str, Any], Any]] = {
    "seconds": _ms,
    "int": _int,
    "size": lambda name, v: _int(name, v, 0, 2**62),
    "float": lambda name, v: _float(name, v),
    "bool": lambda name, v: 1 if v else 0,
    "bool_not": lambda name, v: 0 if v else 1,
    "jitter": _enum(Jitter),
    "heartbeat": _enum(HeartbeatMode),
    "protocol": _enum(ProtocolMode),
    "session_lost": _enum(SessionLostMode),
    "seconds_off": lambda name, v: -1 if _off(v) else _ms(name, v),
    "float_off": lambda name, v: -1.0 if _off(v) else _float(name, v),
    "int_off": lambda name, v: -1 if _off(v) else _int(name, v),
}


def apply_options(cfg: Any, table: Sequence[Option], options: Dict[str, Any], what: str) -> List[Any]:
    """Writes options into the C struct cfg (already initialised with defaults).

    Returns the cdata objects that must outlive the C call that reads cfg.
    Raises TypeError for an unknown keyword or a wrong type, InvalidArgument
    for a value out of range.
    """
    by_name = {o.name: o for o in table}
    unknown = sorted(set(options) - set(by_name))
    if unknown:
        import difflib

        hints = []
        for u in unknown:
            close = difflib.get_close_matches(u, list(by_name), 1)
            hints.append("%s (did you mean %s?)" % (u, close[0]) if close else u)
        raise TypeError("%s got unexpected option(s): %s" % (what, ", ".join(hints)))
    keep: List[Any] = []
    for key, v in options.items():
        if v is None:
            continue
        o = by_name[key]
        k = o.kind
        if k in _SCALARS:
            setattr(cfg, o.field, _SCALARS[k](key, v))
        elif k in ("str", "path"):
            setattr(cfg, o.field, _cstr(key, v, keep))
        elif k == "headers":
            text = headers_text(key, v)
            if text:
                setattr(cfg, o.field, _cstr(key, text, keep))
        elif k == "strings":
            items = [v] if isinstance(v, str) else list(v)
            ptrs = [_cstr(key, x, keep) for x in items]
            arr = ffi.new("const char *[]", ptrs or [ffi.NULL])
            keep.append(arr)
            setattr(cfg, o.field, arr)
            setattr(cfg, o.field.rstrip("s") + "_count", len(items))
        elif k == "close_rules":
            rules = list(v.items())
            arr = ffi.new("mws_close_rule[]", max(1, len(rules)))
            for i, (code, action) in enumerate(rules):
                arr[i].code = _int(key, code, 1000, 4999)
                arr[i].action = _action(key, action)
            keep.append(arr)
            setattr(cfg, o.field, arr)
            setattr(cfg, o.field.replace("rules", "rule_count"), len(rules))
        else:  # pragma: no cover - a table bug
            raise AssertionError(k)
    return keep


def new_config(ctype: str, init: Callable[[Any], int], table: Sequence[Option], options: Dict[str, Any],
               what: str) -> Tuple[Any, List[Any]]:
    """A ``ctype *`` set to the C defaults by init, then given options
    (apply_options); with the cdata that must outlive the C call that reads it."""
    cfg = ffi.new(ctype + " *")
    check(init(cfg))
    return cfg, apply_options(cfg, table, options, what)


def options_doc(table: Sequence[Option]) -> str:
    """The option table as text, for docstrings."""
    width = max(len(o.name) for o in table)
    return "\n".join(
        "    %-*s  %s (default %s)" % (width, o.name, o.doc, o.default) for o in table
    )


CLIENT_OPTIONS: Tuple[Option, ...] = (
    Option("subprotocol", "subprotocol", "str", "None", "WebSocket subprotocol to request"),
    Option("origin", "origin", "str", "None", "Origin header"),
    Option("headers", "headers", "headers", "None", "extra handshake headers: mapping or (name, value) pairs"),
    Option("connect_timeout", "connect_timeout_ms", "seconds", "10.0", "TCP (and TLS) connect timeout, s"),
    Option("handshake_timeout", "handshake_timeout_ms", "seconds", "10.0", "HTTP upgrade timeout, s"),
    Option("base_delay", "base_delay_ms", "seconds", "0.5", "first reconnect delay before jitter, s"),
    Option("max_delay", "max_delay_ms", "seconds", "30.0", "cap of the reconnect delay, s"),
    Option("jitter", "jitter", "jitter", "Jitter.FULL", "Jitter member or its name"),
    Option("jitter_proportion", "jitter_proportion", "float", "0.3", "p of Jitter.PROPORTIONAL"),
    Option("restart_spread", "restart_spread_ms", "seconds", "5.0", "random spread after 1001/1012, s"),
    Option("min_uptime", "min_uptime_ms", "seconds", "5.0", "uptime that resets the attempt counter, s"),
    Option("max_attempts", "max_attempts", "int", "0 = unlimited", "failed attempts in a row before FAILED (after connect() and after a lost connection alike)"),
    Option("breaker_failures", "breaker_failures", "int", "0 = breaker off", "failures within breaker_window that open the circuit"),
    Option("breaker_window", "breaker_window_ms", "seconds", "60.0", "circuit breaker window, s"),
    Option("heartbeat_mode", "heartbeat_mode", "heartbeat", "HeartbeatMode.PING", "HeartbeatMode member or its name"),
    Option("heartbeat_interval", "heartbeat_interval_ms", "seconds", "20.0", "time between heartbeats, s"),
    Option("heartbeat_timeout", "heartbeat_timeout_ms", "seconds", "10.0", "wait for the ack before closing with 4000, s"),
    Option("queue_max_messages", "queue_max_messages", "int", "1024", "messages waiting to be sent"),
    Option("queue_max_bytes", "queue_max_bytes", "size", "4 MiB", "bytes waiting to be sent"),
    Option("max_message_bytes", "max_message_bytes", "size", "16 MiB", "largest message received; larger closes with 1009"),
    Option("ca_file", "ca_file", "path", "None = system CAs", "CA bundle for wss://"),
    Option("insecure", "insecure", "bool", "False", "accept any certificate (tests only)"),
    Option("close_rules", "close_rules", "close_rules", "None", "{close_code: CloseAction} overriding the built-in table"),
    Option("random_seed", "random_seed", "size", "None = from the OS", "seed of the jitter generator (tests)"),
    Option("no_reconnect", "no_reconnect", "bool", "False", "one connection only: any end but 1000 -> FAILED"),
    Option("offline_queue", "no_offline_queue", "bool_not", "True", "queue sends while not connected; False: send() raises InvalidState while away and what is unsent when a connection ends is dropped"),
    Option("hold_queue_on_connect", "hold_queue_on_connect", "bool", "False", "at CONNECTED hold the offline queue until release_queue() (the asyncio on_open sets it)"),
    Option("backoff_factor", "backoff_factor", "float", "2.0", "growth of the reconnect delay per attempt, >= 1"),
    Option("protocol_mode", "protocol_mode", "protocol", "ProtocolMode.OFFER", "mws.v1: ProtocolMode member or its name (offer, require, plain)"),
    Option("session_lost_mode", "session_lost_mode", "session_lost", "SessionLostMode.RESEND", "mws.v1: what to do with unacknowledged messages when the session was lost"),
    Option("ack_every", "ack_every", "int", "32", "mws.v1: acknowledge after this many messages received ..."),
    Option("ack_delay", "ack_delay_ms", "seconds", "0.05", "... or this long after the first unacknowledged one, s"),
    Option("local_address", "local_address", "str", "None = any", 'source IP address to connect from ("127.0.0.2")'),
)


SERVER_OPTIONS: Tuple[Option, ...] = (
    Option("iface", "iface", "str", "None = every interface", '"127.0.0.1" (that IPv4 address only) or an interface name'),
    Option("port", "port", "int", "0 = a free port", "TCP port; read the chosen one from Server.port"),
    Option("cert_file", "cert_file", "path", "None", "PEM certificate, with key_file: wss://"),
    Option("key_file", "key_file", "path", "None", "PEM private key"),
    Option("heartbeat_timeout", "heartbeat_timeout_ms", "seconds", "60.0", "silent longer than this: closed with 4000, s"),
    Option("check_interval", "check_interval_ms", "seconds", "5.0", "how often silence is checked, s"),
    Option("ping_interval", "ping_interval_ms", "seconds_off", "25.0", "RFC 6455 pings, s; False: none"),
    Option("json_protocol", "json_protocol", "bool", "False", "send connection_ack on connect, answer JSON heartbeats"),
    Option("max_message_bytes", "max_message_bytes", "size", "1 MiB", "largest message received; larger closes with 1009"),
    Option("max_connections", "max_connections", "int", "10000", "handshakes over it get 503"),
    Option("rate_per_sec", "rate_per_sec", "float_off", "10.0", "handshakes per second per address; False: no limit"),
    Option("rate_burst", "rate_burst", "int", "20", "burst of the per-address rate limit"),
    Option("origins", "origins", "strings", "None = any", "allow-list of Origin values (a missing Origin is allowed)"),
    Option("handshake_timeout", "handshake_timeout_ms", "seconds", "10.0", "HTTP upgrade timeout, s (rounded up to seconds)"),
    Option("send_queue_max_bytes", "send_queue_max_bytes", "size", "8 MiB", "bytes waiting per connection"),
    Option("random_seed", "random_seed", "size", "None = from the OS", "seed of the shutdown spread (tests)"),
    Option("json_allow_invalid", "json_allow_invalid", "bool", "False", "with json_protocol, deliver text that is not JSON instead of closing with 1003"),
    Option("max_handshakes_per_address", "max_handshakes_per_address", "int_off", "64", "upgrades in progress per peer address; False: no bound"),
    Option("protocol_mode", "protocol_mode", "protocol", "ProtocolMode.OFFER", "mws.v1 and plain on one port; ProtocolMode.PLAIN: plain only"),
    Option("session_ttl", "session_ttl_ms", "seconds", "120.0", "mws.v1: a suspended session ends after this, s"),
    Option("max_sessions", "max_sessions", "int", "10000", "mws.v1 sessions; more are closed with 4013"),
    Option("session_max_bytes", "session_max_bytes", "size", "1 MiB", "mws.v1: unacknowledged bytes kept per session"),
    Option("session_max_messages", "session_max_messages", "int", "1024", "mws.v1: unacknowledged messages kept per session"),
    Option("keep_headers", "keep_headers", "strings", "None", "request headers kept for an mws.v1 session's on_connect, which comes after the request is gone (on_auth sees all)"),
    Option("session_store", "session_store_url", "str", "None = in memory", 'mws.v1 sessions in Redis, shared by every server using it: "redis://127.0.0.1:6379/0" (docs/SESSIONS-REDIS.md)'),
    Option("rx_buffer_bytes", "rx_buffer_bytes", "int", "512", "each connection's receive buffer in libwebsockets (128..1048576); 4096 reads big messages with fewer calls"),
    Option("release_port_on_shutdown", "release_port_on_shutdown", "bool", "False", "close the listening socket when a graceful shutdown begins, so a successor can listen on the port while this server drains"),
)
