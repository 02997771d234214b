#!/usr/bin/env python3
"""mws connect --json and mws serve --json: every stdout line is one JSON
object with "event" and "t"; states, messages and summaries come as such.

    test_mws_json.py PATH-TO-MWS

Every wait is bounded; every process started is stopped.
"""
import json
import os
import select
import signal
import subprocess
import sys
import time

WAIT = 20.0


class Lines:
    """JSON lines read from a process's stdout, with bounded waits."""

    def __init__(self, proc):
        self.proc = proc
        self.buf = b""
        self.events = []

    def pump(self, timeout):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            return False
        chunk = os.read(self.proc.stdout.fileno(), 65536)
        if not chunk:
            return False
        self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            obj = json.loads(line)  # every line must be one JSON object
            assert isinstance(obj, dict) and "event" in obj and isinstance(obj["t"], (int, float)), obj
            self.events.append(obj)
        return True

    def wait(self, pred, what):
        end = time.monotonic() + WAIT
        while True:
            for e in self.events:
                if pred(e):
                    return e
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting for %s; got %r" % (what, self.events))
            if not self.pump(min(left, 0.5)) and self.proc.poll() is not None and not self._more():
                raise AssertionError("process ended before %s; got %r" % (what, self.events))

    def _more(self):
        return self.pump(0)


def main():
    mws = sys.argv[1]
    serve = subprocess.Popen([mws, "serve", "--port", "0", "--json", "--summary-interval", "200"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    client = None
    try:
        s = Lines(serve)
        port = s.wait(lambda e: e["event"] == "listening", "listening")["port"]
        client = subprocess.Popen([mws, "connect", "--json", "--linger", "300", "ws://127.0.0.1:%d/" % port],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        c = Lines(client)
        c.wait(lambda e: e["event"] == "state" and e["to"] == "CONNECTED", "CONNECTED")
        client.stdin.write(b"hello\n")
        client.stdin.flush()
        msg = c.wait(lambda e: e["event"] == "message", "the echo")
        assert msg["type"] == "text" and msg["data"] == "hello", msg
        s.wait(lambda e: e["event"] == "connect" and e["peer"] == "127.0.0.1", "server connect")
        client.stdin.close()
        summary = c.wait(lambda e: e["event"] == "summary", "client summary")
        assert summary["msgs_out"] == 1 and summary["msgs_in"] == 1 and summary["exit"] == 0, summary
        assert client.wait(WAIT) == 0
        s.wait(lambda e: e["event"] == "disconnect", "server disconnect")
        s.wait(lambda e: e["event"] == "summary" and e["msgs_in"] >= 1, "server summary")
        serve.send_signal(signal.SIGTERM)
        shut = s.wait(lambda e: e["event"] == "shutdown", "shutdown")
        assert shut["clean"] is True, shut
        assert serve.wait(WAIT) == 0
    finally:
        for p in (client, serve):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(WAIT)
    print("ok")


if __name__ == "__main__":
    main()
