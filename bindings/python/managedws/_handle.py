"""What Client and Server share: a Python object that owns one C object.

The owner holds a ``_callbacks._Core`` (the C pointer and the ``user_data``
handle, registered until C frees it) and a ``weakref.finalize`` that frees the
C object when the owner is collected or at exit. Releasing it explicitly
first keeps a last stats snapshot, so that ``stats()`` still answers after.
User callbacks run through ``_user``, which logs and counts what they raise.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable, Generic, Optional, TypeVar

from . import _callbacks
from ._callbacks import _Core, report
from ._errors import Closed, check
from ._ffi import lib, new_sized

__all__ = ["HandleOwner"]

_S = TypeVar("_S")


class HandleOwner(Generic[_S]):
    """Base of Client and Server; ``_S`` is the type of their stats snapshot."""

    #: Text of the Closed raised by a call after release.
    _released_text = "released"
    #: Text of the Closed raised by stats() after a release that kept none.
    _no_stats_text = "released"

    #: None until _own() succeeds, so that a failed constructor leaves an
    #: object that reads as released.
    _core: Optional[_Core] = None
    _final_stats: Optional[_S] = None
    _finalizer: weakref.finalize
    callback_errors: int

    def _own(self, ptr: Any, free: Callable[[Any], None], set_callbacks: Callable[..., int],
             cbs: Any, what: str) -> None:
        """Takes ownership of ptr, just created, and registers cbs with this
        object as their target. If that fails, frees ptr and raises."""
        core = _Core(ptr, self, free)
        _callbacks.register(core)
        rc = set_callbacks(ptr, cbs, core.handle, lib._mws_py_free)
        if rc < 0:
            _callbacks.unregister(core)
            free(ptr)
            check(rc, what)
        self._core = core
        # Holds the core, never self: a dropped owner is collected, and the
        # C object is freed then (or at interpreter exit).
        self._finalizer = weakref.finalize(self, core.release)

    def _cptr(self) -> Any:
        """The C pointer, or None once released."""
        core = self._core
        return core.ptr if core is not None else None

    def _ptr(self) -> Any:
        """The C pointer; Closed once released."""
        ptr = self._cptr()
        if ptr is None:
            raise Closed(self._released_text)
        return ptr

    def _read_stats(self, ctype: str, get: Callable[[Any, Any], int], build: Callable[[Any], _S]) -> _S:
        """build() of the ctype struct that get() fills; after release, the last snapshot."""
        ptr = self._cptr()
        if ptr is None:
            if self._final_stats is None:
                raise Closed(self._no_stats_text)
            return self._final_stats
        st = new_sized(ctype)
        check(get(ptr, st), "stats")
        return build(st)

    def stats(self) -> _S:
        raise NotImplementedError  # pragma: no cover - each owner reads its own struct

    def _release(self) -> None:
        """Frees the C object now, keeping a last stats snapshot; idempotent."""
        if self._cptr() is None:
            return
        try:
            self._final_stats = self.stats()
        except Exception:  # pragma: no cover
            pass
        self._finalizer()

    def _user(self, what: str, fn: Optional[Callable[..., Any]], *args: Any, failed: Any = None) -> Any:
        """Runs a user callback on the I/O thread: its result (None without
        one), or ``failed`` if it raised, the exception logged and counted."""
        if fn is None:
            return None
        try:
            return fn(*args)
        except Exception as exc:
            self.callback_errors += 1
            report(exc, what, self)
            return failed
