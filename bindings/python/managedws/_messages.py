"""Messages across the C boundary: ``str`` is a text message, bytes-like binary."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

from ._errors import InvalidArgument
from ._ffi import ffi, lib

__all__ = ["Message", "encode", "decode", "close_args"]

Message = Union[str, bytes]
"""A received message: ``str`` for a text frame, ``bytes`` for binary."""


def encode(message: Any) -> Tuple[Any, int, int]:
    """(buffer, length, MWS_MSG_*) of a message to send; the buffer borrows message."""
    if isinstance(message, str):
        data = message.encode("utf-8")
        return ffi.from_buffer(data), len(data), lib.MWS_MSG_TEXT
    if isinstance(message, (bytes, bytearray, memoryview)):
        buf = ffi.from_buffer(message)
        return buf, len(buf), lib.MWS_MSG_BINARY
    raise TypeError("send() takes str (text) or bytes-like (binary), not %s" % type(message).__name__)


def decode(payload: bytes, mtype: int) -> Message:
    """A received payload as the Message it is. Text is decoded strictly: the
    library closes with 1007 on invalid UTF-8, so it never reaches here, and
    if it did, hiding it behind U+FFFD would be wrong."""
    return payload.decode("utf-8") if mtype == lib.MWS_MSG_TEXT else payload


def close_args(code: int, reason: Optional[str]) -> Tuple[int, Any]:
    """(code, reason) for a C close call; InvalidArgument for a reason the frame cannot carry."""
    if reason is None or reason == "":
        return code, ffi.NULL
    r = reason.encode("utf-8")
    if len(r) > 123 or b"\0" in r:
        raise InvalidArgument("close reason longer than 123 bytes or with NUL")
    return code, r
