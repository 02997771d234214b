"""Handles without close(): garbage collection and interpreter exit."""
from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import tracemalloc

import managedws
from managedws import State

from conftest import FAST, WAIT, fd_count, os_thread_count, rss_bytes, wait_until


def _snapshot():
    gc.collect()
    return dict(
        fds=fd_count(),
        py_threads=threading.active_count(),
        os_threads=os_thread_count(),
        traced=tracemalloc.get_traced_memory()[0],
        rss=rss_bytes(),
        live=len(managedws._callbacks._live),
    )


def test_thousand_clients_dropped_without_close_leak_nothing(ws_server):
    def create_and_drop(n, connect_every=0):
        for i in range(n):
            c = managedws.Client(ws_server.url, on_message=lambda m: None, **FAST)
            c.send("x")
            if connect_every and i % connect_every == 0:
                c.connect()
                c.wait_state(State.CONNECTED, timeout=WAIT)
            del c  # no close(): the finalizer frees it

    tracemalloc.start()
    try:
        create_and_drop(200, connect_every=10)  # warm up: default context, caches, arenas
        wait_until(lambda: not ws_server.connections, what="server side closed")
        ws_server.requests.clear()
        ws_server.received.clear()
        before = _snapshot()
        # 1,000 never connected, then 1,000 more of which 100 connected; all dropped.
        create_and_drop(1000)
        create_and_drop(1000, connect_every=10)
        wait_until(lambda: not ws_server.connections, what="server side closed")
        ws_server.requests.clear()  # the peer's own records are not ours to count
        ws_server.received.clear()
        after = _snapshot()
    finally:
        tracemalloc.stop()
    # Tolerances: descriptors and threads no more than before (the default
    # context's I/O thread existed before); nothing left registered for C callbacks;
    # Python allocations within 64 KiB over 2,000 clients (a leaked client
    # holds far more than 32 bytes); resident memory within 8 MiB (a leaked
    # C client holds a 1,024-slot ring and more: about 10 KiB each, 20 MiB
    # for 2,000).
    # Sockets of dropped clients close asynchronously on the I/O thread, so
    # descriptors and threads get a bounded wait to come back down.
    wait_until(lambda: fd_count() <= before["fds"], what="descriptors back to %d" % before["fds"])
    wait_until(lambda: os_thread_count() <= before["os_threads"], what="threads back")
    assert threading.active_count() <= before["py_threads"], (before, after)
    assert after["live"] == before["live"] == 0, (before, after)
    assert after["traced"] - before["traced"] < 64 * 1024, (before, after)
    assert after["rss"] - before["rss"] < 8 * 1024 * 1024, (before, after)


def test_cycles_through_callbacks_are_collected(ws_server):
    class Owner:
        def __init__(self):
            self.client = managedws.Client(ws_server.url, on_message=self.on_message, **FAST)

        def on_message(self, msg):
            pass

    import weakref

    o = Owner()
    o.client.connect()
    o.client.wait_state(State.CONNECTED, timeout=WAIT)
    r = weakref.ref(o.client)
    del o
    gc.collect()
    assert r() is None
    wait_until(lambda: not ws_server.connections, what="the dropped client's connection to end")


def test_exit_without_close_is_clean(ws_server):
    """Clients (sync and asyncio) alive at interpreter exit: no hang, no error output."""
    code = r"""
import asyncio, sys, managedws
url = sys.argv[1]
c = managedws.Client(url, on_message=lambda m: None, base_delay=0.02)
c.connect()
c.wait_state(managedws.State.CONNECTED, timeout=10)
c.send("bye")
keep = []
async def main():
    keep.append(await managedws.connect(url))
    await keep[0].send("async bye")
asyncio.run(main())
never = managedws.Client("ws://127.0.0.1:9/", base_delay=0.02)
never.connect()
print("done", flush=True)
"""
    p = subprocess.run([sys.executable, "-c", code, ws_server.url], capture_output=True, text=True,
                       timeout=30, cwd="/")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "done"
    assert p.stderr == ""
    wait_until(lambda: not ws_server.connections, what="the exited process's connections to end")
