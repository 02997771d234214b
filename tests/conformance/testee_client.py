#!/usr/bin/env python3
"""The client end of the Autobahn|Testsuite run through the Python binding
(the installed ``managedws`` package): one Client per case that echoes every
message back (str as text, bytes as binary) until the suite ends the
connection, then asks the suite to write its reports.

    testee_client.py ws://127.0.0.1:9001 [--agent NAME] [--case-timeout S]

Exit status 0 when every case ran (the verdicts are in the suite's report),
1 when the suite could not be reached or a case hung.
"""
from __future__ import annotations

import argparse
import sys
import threading

import managedws
from managedws import State

LIVE = (State.CONNECTING, State.CONNECTED)


def one_connection(url: str, timeout: float) -> tuple[bool, list]:
    """Connects, echoes until the connection ends; (ended in time, messages)."""
    ended = threading.Event()
    got: list = []
    client: managedws.Client

    def on_message(message: managedws.Message) -> None:
        if not got:
            got.append(message)
        client.send(message)

    def on_state(change: managedws.StateChange) -> None:
        if change.new not in LIVE:
            ended.set()

    client = managedws.Client(
        url,
        on_message=on_message,
        on_state=on_state,
        heartbeat_mode="OFF",  # the suite counts every frame
        connect_timeout=5.0,
        handshake_timeout=5.0,
        base_delay=60.0,  # no retry before the case has ended
        queue_max_messages=1 << 20,
        queue_max_bytes=256 << 20,
        max_message_bytes=256 << 20,
    )
    try:
        client.connect()
        ok = ended.wait(timeout)
    finally:
        client.close()
        client.release()
    if not ok:
        print(f"testee.py: {url}: no end within {timeout} s", file=sys.stderr)
    return ok, got


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url")
    ap.add_argument("--agent", default="managedws-python")
    ap.add_argument("--case-timeout", type=float, default=30.0)
    args = ap.parse_args()

    ok, got = one_connection(f"{args.url}/getCaseCount", 10.0)
    try:
        count = int(got[0]) if ok and got else 0
    except (TypeError, ValueError):
        count = 0
    if count <= 0:
        print(f"testee.py: no case count from {args.url}", file=sys.stderr)
        return 1
    status = 0
    for i in range(1, count + 1):
        if not one_connection(f"{args.url}/runCase?case={i}&agent={args.agent}", args.case_timeout)[0]:
            status = 1
    if not one_connection(f"{args.url}/updateReports?agent={args.agent}", 30.0)[0]:
        status = 1
    print(f"testee.py: {count} cases run as agent {args.agent}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
