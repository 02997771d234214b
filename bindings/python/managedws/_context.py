"""The library contexts this package uses, each with its own I/O thread.

Every Client and Server shares one context created on first use, whose log
callback feeds the ``managedws.lib`` logger (WARNING and above, DEBUG
too when that logger is enabled for DEBUG at the time). ``own_context=True``
gives a client or server a context of its own -- its own I/O thread -- so
that a slow callback of another connection cannot stall it; it is freed
right after its owner.

Contexts are freed at interpreter exit after every C object with a Python
callback (see _callbacks._at_exit), so no log callback reaches a finalizing
interpreter.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, List, Optional

from ._errors import check
from ._ffi import ffi, lib

__all__ = ["shared_context", "new_context", "free_context"]

_lock = threading.Lock()
_shared: Optional[Any] = None
#: Contexts still to free at exit.
_alive: List[Any] = []


def new_context() -> Any:
    """A new ``mws_ctx *`` whose log goes to the ``managedws.lib`` logger."""
    cfg = ffi.new("mws_ctx_config *")
    check(lib.mws_ctx_config_init(cfg))
    cfg.log_cb = lib._mws_py_log
    debug = logging.getLogger("managedws.lib").isEnabledFor(logging.DEBUG)
    cfg.log_level = lib.MWS_LOG_DEBUG if debug else lib.MWS_LOG_WARN
    out = ffi.new("mws_ctx **")
    check(lib.mws_ctx_new(out, cfg), "context")
    with _lock:
        _alive.append(out[0])
    return out[0]


def shared_context() -> Any:
    """The context every Client and Server uses unless given its own."""
    global _shared
    with _lock:
        if _shared is not None:
            return _shared
    ctx = new_context()
    with _lock:
        if _shared is None:
            _shared = ctx
            return ctx
    free_context(ctx)  # another thread won the race
    return _shared


def free_context(ctx: Any) -> None:
    """Frees a context no C object uses any more (idempotent)."""
    with _lock:
        if ctx not in _alive:
            return
        _alive.remove(ctx)
    lib.mws_ctx_free(ctx)


def free_all() -> None:
    """At exit, after every client and server was released."""
    global _shared
    with _lock:
        ctxs = list(_alive)
        _alive.clear()
        _shared = None
    for ctx in ctxs:
        lib.mws_ctx_free(ctx)
