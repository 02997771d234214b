"""managedws: WebSocket connections that stay up.

A thin binding of the managedws C library (CFFI, API mode, linked
statically): the reconnect, heartbeat, queueing and close-code policies all
live in C; this package gives them Python's conventions.

Synchronous, callbacks on the library's I/O thread::

    with managedws.Client("ws://127.0.0.1:8765/", on_message=print) as client:
        client.send("hello")

asyncio, events handed to the loop::

    async with managedws.connect("ws://127.0.0.1:8765/") as client:
        await client.send("hello")
        async for message in client:
            ...

``python -m managedws --help`` describes the command-line entry point.
"""
from __future__ import annotations

import logging as _logging

# A library logs, the application decides where it goes (logging HOWTO):
# without configuration nothing is printed.
_logging.getLogger("managedws").addHandler(_logging.NullHandler())

from ._ffi import HEADER_VERSION, LIBRARY_VERSION, ffi as _ffi_mod, lib as _lib
from . import _errors, _types
from ._errors import *  # noqa: F401,F403  (the exception classes, listed once in _errors.__all__)
from ._types import *  # noqa: F401,F403  (likewise)
from ._client import Client, Credentials
from ._messages import Message
from ._asyncio import AsyncClient, Connection, connect
from . import _callbacks  # noqa: F401  (registers the extern "Python" callbacks)

#: True when the C library was built with the server side (managedws.Server).
HAS_SERVER: bool = hasattr(_lib, "mws_server_new")
if HAS_SERVER:
    from ._server import ConnInfo, DisconnectReason, RefuseReason, Server, ServerStats
    from ._serve import AsyncServer, ServerConnection, serve

#: Version of the loaded C library, e.g. "0.1.0" (the package has the same).
__version__: str = _ffi_mod.string(_lib.mws_version_string()).decode()

__all__ = [
    "__version__",
    "HEADER_VERSION",
    "LIBRARY_VERSION",
    "HAS_SERVER",
    "Client",
    "AsyncClient",
    "connect",
    "Connection",
    "Credentials",
    "Message",
]
__all__ += _types.__all__
__all__ += _errors.__all__
if HAS_SERVER:
    __all__ += ["Server", "ServerStats", "ConnInfo", "DisconnectReason", "RefuseReason",
                "AsyncServer", "ServerConnection", "serve"]
