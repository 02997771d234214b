"""Invalid UTF-8 text: the library closes with 1007 and the binding never
hides bad text behind U+FFFD."""
from __future__ import annotations

from typing import Any, List

import pytest
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

import managedws
from managedws import State
from managedws import _messages
from managedws._ffi import lib

from conftest import FAST, WAIT, Collector, wait_until


def test_text_is_decoded_strictly():
    assert _messages.decode("κόσμε".encode(), lib.MWS_MSG_TEXT) == "κόσμε"
    with pytest.raises(UnicodeDecodeError):
        _messages.decode(b"ok \xed\xa0\x80", lib.MWS_MSG_TEXT)
    assert _messages.decode(b"\xff", lib.MWS_MSG_BINARY) == b"\xff"


def test_invalid_text_from_the_server_fails_the_client_with_1007(loop_thread, collector: Collector):
    closes: List[Any] = []

    async def handler(ws: Any) -> None:
        try:
            # websockets does not check bytes sent with text=True.
            await ws.send(b"ok \xed\xa0\x80", text=True)
            async for _ in ws:
                pass
        except ConnectionClosed:
            pass
        closes.append(ws.close_code)

    async def start() -> Any:
        return await serve(handler, "127.0.0.1", 0, ping_interval=None, compression=None)

    server = loop_thread.run(start())
    port = server.sockets[0].getsockname()[1]
    messages: List[Any] = []
    c = managedws.Client("ws://127.0.0.1:%d/" % port, on_state=collector.on_state,
                         on_message=messages.append, **FAST)
    try:
        c.connect()
        assert c.wait_state(State.FAILED, timeout=WAIT) == State.FAILED
        assert c.last_change.close_code == 1007, c.last_change
        wait_until(lambda: closes, what="the server's view of the close")
        assert closes == [1007]
        assert messages == []
        assert c.callback_errors == 0
    finally:
        c.close()

        async def stop() -> None:
            server.close()
            await server.wait_closed()

        loop_thread.run(stop())
