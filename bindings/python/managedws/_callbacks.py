"""The C callbacks (``extern "Python"``) and what keeps their user data alive.

Every handle the library holds a Python callback for gets a ``_Core``: the C
pointer plus ``ffi.new_handle(core)``, passed to C as ``user_data``. The core
holds only a *weak* reference to the Python object the user sees, so a
dropped ``Client`` can be collected while C still has the handle; the core
stays in ``_live`` until C calls ``free_user_data`` (``_mws_py_free``), which
happens exactly once, when the C object is freed. From then on C never uses
the handle again.

These functions run on the library's I/O thread. They do as little as
possible: turn the C arguments into Python values and call one method of
the target, which either calls a user callback (the sync ``Client``: the
user's code runs on the I/O thread and must be quick) or hands the event to
an asyncio loop (``AsyncClient``). No exception escapes into C: each is
logged on the ``managedws`` logger and the I/O thread goes on.
"""
from __future__ import annotations

import atexit
import logging
import threading
import weakref
from typing import Any, Callable, List, Set

from ._ffi import ffi, lib
from ._messages import Message, decode

logger = logging.getLogger("managedws")

_live: Set["_Core"] = set()
_tls = threading.local()
_shutdown = False


class _Core:
    """What C's user_data points at. Never the user's object itself."""

    __slots__ = ("ptr", "handle", "target", "free_fn", "__weakref__")

    def __init__(self, ptr: Any, target: Any, free_fn: Callable[[Any], None]) -> None:
        self.ptr = ptr
        self.handle = ffi.new_handle(self)
        self.target: Callable[[], Any] = weakref.ref(target)
        self.free_fn = free_fn

    def release(self) -> None:
        """Frees the C object (at most once); blocks until the I/O thread lets go of it.

        Called from the finalizer or explicitly. On the I/O thread (a
        finalizer run by a collection inside a callback) the C library
        defers the teardown; the core stays in _live until free_user_data.
        """
        ptr, self.ptr = self.ptr, None
        if ptr is not None:
            self.free_fn(ptr)


def register(core: _Core) -> None:
    _live.add(core)


def unregister(core: _Core) -> None:
    _live.discard(core)


def in_callback() -> bool:
    """True on an I/O thread inside one of our callbacks."""
    return getattr(_tls, "depth", 0) > 0


def report(exc: BaseException, what: str, obj: Any = None) -> None:
    """Reports an exception raised by user code run from a callback; never raises."""
    try:
        logger.error("exception in %s callback of %r", what, obj, exc_info=exc)
    except Exception:  # pragma: no cover - logging itself failed
        pass


def _deliver(ud: Any, what: str, call: Callable[[Any], Any], gone: Any = None, raised: Any = None) -> Any:
    """call(target) for one C callback, counted as "inside a callback".

    Returns ``gone`` when the target was collected (or the interpreter is
    exiting), ``raised`` when anything raised: nothing escapes into C.
    """
    try:
        if _shutdown:
            return gone
        target = ffi.from_handle(ud).target()
        if target is None:
            return gone
        _tls.depth = getattr(_tls, "depth", 0) + 1
        try:
            return call(target)
        finally:
            _tls.depth -= 1
    except BaseException as exc:  # noqa: BLE001 - must not reach C
        report(exc, what)
        return raised


def _message(data: Any, length: int, mtype: int) -> Message:
    # Copy now: the buffer lives only during the C callback.
    return decode(ffi.unpack(ffi.cast("const char *", data), length), mtype)


@ffi.def_extern()
def _mws_py_client_state(cptr: Any, change: Any, ud: Any) -> None:
    _deliver(ud, "state", lambda t: t._io_state(change))


@ffi.def_extern()
def _mws_py_client_message(cptr: Any, data: Any, length: int, mtype: int, ud: Any) -> None:
    _deliver(ud, "message", lambda t: t._io_message(_message(data, length, mtype)))


def _batch(msgs: Any, count: int) -> List[Message]:
    # Copies now: the buffers live only during the C callback.
    text = lib.MWS_MSG_TEXT
    out: List[Message] = []
    append = out.append
    buffer = ffi.buffer
    for i in range(count):
        m = msgs[i]
        payload = buffer(m.data, m.len)[:]
        append(payload.decode("utf-8") if m.type == text else payload)
    return out


@ffi.def_extern()
def _mws_py_client_messages(cptr: Any, msgs: Any, count: int, ud: Any) -> None:
    # One crossing for everything one pass of the I/O loop read.
    _deliver(ud, "message", lambda t: t._io_messages(_batch(msgs, count)))


@ffi.def_extern()
def _mws_py_client_credentials(cptr: Any, creds: Any, ud: Any) -> int:
    # Raised: no credentials, so fail rather than connect without them.
    return int(_deliver(ud, "credentials", lambda t: int(t._io_credentials(creds)), gone=0, raised=-1))


@ffi.def_extern()
def _mws_py_client_acked(cptr: Any, number: int, ud: Any) -> None:
    _deliver(ud, "acked", lambda t: t._io_acked(int(number)))


@ffi.def_extern()
def _mws_py_client_session(cptr: Any, info: Any, ud: Any) -> None:
    _deliver(ud, "session", lambda t: t._io_session(info))


@ffi.def_extern()
def _mws_py_free(ud: Any) -> None:
    try:
        _live.discard(ffi.from_handle(ud))
    except BaseException:  # noqa: BLE001  # pragma: no cover
        pass


if hasattr(lib, "mws_server_new"):

    @ffi.def_extern()
    def _mws_py_server_auth(sptr: Any, info: Any, ud: Any) -> int:
        # Raised: refuse, a broken hook must not let everyone in.
        return int(_deliver(ud, "auth", lambda t: int(t._io_auth(info)), gone=503, raised=500))

    @ffi.def_extern()
    def _mws_py_server_connect(sptr: Any, conn: int, info: Any, ud: Any) -> None:
        _deliver(ud, "connect", lambda t: t._io_connect(conn, info))

    @ffi.def_extern()
    def _mws_py_server_message(sptr: Any, conn: int, data: Any, length: int, mtype: int, ud: Any) -> None:
        _deliver(ud, "message", lambda t: t._io_message(conn, _message(data, length, mtype)))

    @ffi.def_extern()
    def _mws_py_server_disconnect(sptr: Any, conn: int, code: int, reason: Any, why: int, ud: Any) -> None:
        _deliver(ud, "disconnect",
                 lambda t: t._io_disconnect(conn, code, ffi.string(reason).decode("utf-8", "replace"), why))

    @ffi.def_extern()
    def _mws_py_server_session(sptr: Any, conn: int, event: int, ud: Any) -> None:
        _deliver(ud, "session", lambda t: t._io_session(conn, event))


_log_levels = {
    lib.MWS_LOG_ERROR: logging.ERROR,
    lib.MWS_LOG_WARN: logging.WARNING,
    lib.MWS_LOG_INFO: logging.INFO,
    lib.MWS_LOG_DEBUG: logging.DEBUG,
}
_lib_logger = logging.getLogger("managedws.lib")


@ffi.def_extern()
def _mws_py_log(level: int, msg: Any, ud: Any) -> None:
    try:
        if not _shutdown:
            _lib_logger.log(_log_levels.get(level, logging.INFO), "%s",
                            ffi.string(msg).decode("utf-8", "replace"))
    except BaseException:  # noqa: BLE001  # pragma: no cover
        pass


def _at_exit() -> None:
    # While the interpreter can still run callbacks, free every C object that
    # still has a Python callback (weakref.finalize's own exit hook may run
    # before or after this one; release() is idempotent). After this no
    # callback reaches Python, so the C library's own exit handler, which
    # runs after the interpreter is gone, finds nothing of ours to call.
    global _shutdown
    for core in list(_live):
        try:
            core.release()
        except BaseException:  # noqa: BLE001  # pragma: no cover
            pass
    try:
        from . import _context

        _context.free_all()  # their I/O threads stop while Python still runs
    except BaseException:  # noqa: BLE001  # pragma: no cover
        pass
    _shutdown = True


atexit.register(_at_exit)
