"""Client.send(): every kind of message it takes goes out as the message it
is, numbered in order, and every refusal is the library's error. send() is
the binding's hot path (one call into C that returns the number or the
error), so what it must keep is pinned down here."""
from __future__ import annotations

import array

import pytest

import managedws
from managedws import State

from conftest import FAST, WAIT, Collector, wait_until


class Text(str):
    pass


class Blob(bytes):
    pass


def test_each_kind_goes_out_as_itself_numbered_in_order(ws_server, collector: Collector):
    ints = array.array("i", [1, 2, 3])  # a memoryview of items wider than a byte
    sends = ["héllo", b"\x00bin\x00", bytearray(b"ba"), memoryview(b"xmvx")[1:3],
             memoryview(ints), Text("sub-str"), Blob(b"sub-bytes"), "", b""]
    expect = ["héllo", b"\x00bin\x00", b"ba", b"mv", ints.tobytes(), "sub-str", b"sub-bytes", "", b""]
    with managedws.Client(ws_server.url, on_message=collector.on_message, **FAST) as c:
        c.wait_state(State.CONNECTED, timeout=WAIT)
        numbers = [c.send(m) for m in sends]
        assert numbers == list(range(1, len(sends) + 1))
        assert all(type(n) is int for n in numbers)
        wait_until(lambda: len(collector.messages) >= len(expect), what="the echoes")
        assert collector.messages == expect
        assert [type(m) for m in collector.messages] == [type(e) for e in expect]


def test_a_message_of_another_type_is_a_type_error():
    with managedws.Client("ws://127.0.0.1:9/", **FAST) as c:
        for bad in (123, None, ["list"], 1.5):
            with pytest.raises(TypeError):
                c.send(bad)
        assert c.send(b"ok") == 1, "nothing was numbered for the refused ones"


def test_refusals_are_the_library_errors():
    # Not connected: sends wait in the offline queue, whose bounds refuse.
    with managedws.Client("ws://127.0.0.1:9/", queue_max_messages=2, queue_max_bytes=64, **FAST) as c:
        with pytest.raises(managedws.MessageTooBig):
            c.send(b"x" * 65)
        assert c.send(b"a") == 1
        assert c.send("b") == 2
        with pytest.raises(managedws.QueueFull):
            c.send(b"c")
        with pytest.raises(managedws.QueueFull):
            c.send("c")
        c.close()
        with pytest.raises(managedws.Closed):
            c.send(b"after close")
        c.release()
        with pytest.raises(managedws.Closed):
            c.send(b"after release")
        with pytest.raises(managedws.Closed):
            c.send("after release")
