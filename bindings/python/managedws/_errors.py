"""C error codes as exception classes, one per MWS_E* code."""
from __future__ import annotations

from typing import Dict, Optional, Type

from ._ffi import ffi, lib

__all__ = [
    "ManagedWSError",
    "InvalidArgument",
    "OutOfMemory",
    "InvalidState",
    "QueueFull",
    "Closed",
    "MessageTooBig",
    "IOFailure",
    "Timeout",
    "Failed",
    "ListenError",
    "Deadlock",
    "StoreUnavailable",
    "Unsupported",
]


class ManagedWSError(Exception):
    """Base class of every error the library reports.

    ``code`` is the negative ``MWS_E*`` value, ``name`` its C name
    (``"MWS_EQUEUEFULL"``); ``str(exc)`` is the library's sentence, plus the
    context given when raised.
    """

    code: int = 0
    name: str = "MWS_UNKNOWN"

    def __init__(self, message: Optional[str] = None, code: Optional[int] = None) -> None:
        if code is not None:
            self.code = code
            self.name = ffi.string(lib.mws_err_name(code)).decode()
        if message is None:
            message = ffi.string(lib.mws_strerror(self.code)).decode()
        super().__init__(message)


class InvalidArgument(ManagedWSError, ValueError):
    """MWS_EINVAL: a bad argument, option or URL."""


class OutOfMemory(ManagedWSError, MemoryError):
    """MWS_ENOMEM."""


class InvalidState(ManagedWSError):
    """MWS_ESTATE: not allowed in the current state (e.g. connect() while CONNECTED)."""


class QueueFull(ManagedWSError):
    """MWS_EQUEUEFULL: the send queue is at queue_max_messages or queue_max_bytes.

    Nothing already queued is lost; retry later or drop the message.
    """


class Closed(ManagedWSError):
    """MWS_ECLOSED: the client was closed (CLOSED is terminal) or released."""


class MessageTooBig(ManagedWSError, ValueError):
    """MWS_ETOOBIG: larger than the queue can ever hold (queue_max_bytes)."""


class IOFailure(ManagedWSError, OSError):
    """MWS_EIO: an I/O or libwebsockets failure."""


class Timeout(ManagedWSError, TimeoutError):
    """MWS_ETIMEDOUT, and waits of this package that ran out of time."""


class Failed(ManagedWSError):
    """MWS_EFAILED: the connection failed permanently (FAILED state).

    ``close_code`` and ``reason`` tell why when known. connect() may be
    called again.
    """

    close_code: int = 0
    reason: str = ""


class ListenError(ManagedWSError, OSError):
    """MWS_ELISTEN: cannot listen on the requested address."""


class Deadlock(ManagedWSError, RuntimeError):
    """MWS_EDEADLK: a call that waits for the I/O thread was made on it (from a callback)."""


class StoreUnavailable(ManagedWSError, ConnectionError):
    """MWS_ESTORE: the session store (Redis) cannot be reached."""


class Unsupported(ManagedWSError, OSError):
    """MWS_EUNSUPPORTED: not available in this build or on this system (e.g. the epoll loop without libwebsockets-evlib-ev)."""


_BY_NAME: Dict[str, Type[ManagedWSError]] = {
    "MWS_EINVAL": InvalidArgument,
    "MWS_ENOMEM": OutOfMemory,
    "MWS_ESTATE": InvalidState,
    "MWS_EQUEUEFULL": QueueFull,
    "MWS_ECLOSED": Closed,
    "MWS_ETOOBIG": MessageTooBig,
    "MWS_EIO": IOFailure,
    "MWS_ETIMEDOUT": Timeout,
    "MWS_EFAILED": Failed,
    "MWS_ELISTEN": ListenError,
    "MWS_EDEADLK": Deadlock,
    "MWS_ESTORE": StoreUnavailable,
    "MWS_EUNSUPPORTED": Unsupported,
}

# Shown as managedws.QueueFull, where users import them from.
for _cls in list(_BY_NAME.values()) + [ManagedWSError]:
    _cls.__module__ = "managedws"

#: code -> class, built from the C enum so that the two cannot drift apart:
#: a code without a class of its own maps to ManagedWSError.
EXCEPTIONS: Dict[int, Type[ManagedWSError]] = {}
for _code, _name in ffi.typeof("mws_err").elements.items():
    if _code == 0:
        continue
    _cls = _BY_NAME.get(_name, ManagedWSError)
    EXCEPTIONS[_code] = _cls
    if _cls is not ManagedWSError:
        _cls.code = _code
        _cls.name = _name


def error_for(code: int, context: Optional[str] = None) -> ManagedWSError:
    """The exception for a negative MWS_E* code."""
    cls = EXCEPTIONS.get(code, ManagedWSError)
    text = ffi.string(lib.mws_strerror(code)).decode()
    if context:
        text = "%s: %s" % (context, text)
    return cls(text, code)


def check(rc: int, context: Optional[str] = None) -> int:
    """Returns rc if it is not negative, else raises its exception."""
    if rc < 0:
        raise error_for(rc, context)
    return rc
