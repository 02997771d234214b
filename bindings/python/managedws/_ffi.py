"""The compiled CFFI module and the import-time version check."""
from __future__ import annotations

from typing import Any

from ._mws import ffi, lib  # type: ignore[import-not-found]

__all__ = ["ffi", "lib", "HEADER_VERSION", "LIBRARY_VERSION", "new_sized"]

#: (major, minor, patch) of managedws.h when the module was built.
HEADER_VERSION = (lib.MWS_VERSION_MAJOR, lib.MWS_VERSION_MINOR, lib.MWS_VERSION_PATCH)


def _split(v: int) -> tuple[int, int, int]:
    return ((v >> 16) & 0xFFFF, (v >> 8) & 0xFF, v & 0xFF)


#: (major, minor, patch) that the linked library reports at run time.
LIBRARY_VERSION = _split(lib.mws_version())


def check_version(header: tuple[int, int, int], library: tuple[int, int, int]) -> None:
    """Raises ImportError unless the library can serve code built for the header.

    Same major and a library minor at least the header's: the ABI promise of
    managedws.h (structs only grow, functions are never removed).
    """
    if header[0] != library[0] or library[1] < header[1]:
        raise ImportError(
            "managedws: module built against managedws.h %d.%d.%d but the loaded "
            "library is %d.%d.%d; reinstall the package" % (header + library)
        )


check_version(HEADER_VERSION, LIBRARY_VERSION)


def new_sized(ctype: str) -> Any:
    """A zeroed ``ctype *`` whose ``size`` field is set: every struct of
    managedws.h that may grow starts with its own size (callbacks, stats)."""
    p = ffi.new(ctype + " *")
    p.size = ffi.sizeof(ctype)
    return p
