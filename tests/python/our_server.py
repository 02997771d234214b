"""A managedws.Server in its own process, for restart tests.

    python our_server.py [PORT]

Echoes every message, prints "PORT n" once listening, then runs until
SIGTERM, on which it shuts down gracefully (close code 1012, retry-after
spread over 200 ms, 5 s deadline) and exits 0. A separate process: that is
what a real restart looks like (the port is released when the process ends),
and the test does not depend on in-process port reuse.
"""
import signal
import sys
import threading

import managedws

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: stop.set())
srv = managedws.Server(int(sys.argv[1]) if len(sys.argv) > 1 else 0, iface="127.0.0.1",
                       on_message=lambda conn, msg: srv.send(conn, msg))
print("PORT %d" % srv.port, flush=True)
while not stop.wait(0.05):
    pass
srv.shutdown(code=1012, spread=0.2, deadline=5.0)
srv.close()
