"""The command lines of every client and server in the run (see bench/README.md)."""
from __future__ import annotations

import os
import sys
from typing import Dict, List

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build")
PY = sys.executable  # the bench venv: websockets, picows, managedws
PEER_PY = os.path.join(ROOT, "bench", "peers", "python", "peer.py")
NODE_DIR = os.path.join(ROOT, "bench", "peers", "node")
GORILLA = os.path.join(BUILD, "bench", "gorilla_peer")
CLIENT_BENCH = os.path.join(BUILD, "bench", "client_bench")
SERVER_BENCH = os.path.join(BUILD, "bench", "server_bench")
STORM_BENCH = os.path.join(BUILD, "bench", "storm_bench")
IDLE_BENCH = os.path.join(BUILD, "bench", "idle_bench")
RTT_FLOOR = os.path.join(BUILD, "bench", "rtt_floor")
ECHO_FLOOR = os.path.join(BUILD, "bench", "echo_floor")
MWS = os.path.join(BUILD, "tools", "mws")

# The libraries compared. "managedws" is ours (C); the binding clients are
# measured in their own figure.
PEERS = ["ws", "websockets", "gorilla", "picows"]
OURS = "managedws"
# Our client speaking mws.v1 (numbered, acknowledged, many messages per
# envelope): only against our server, beside the plain figure.
V1 = "managedws-v1"
# managedws-python-batch: the Python binding sending with send_many().
BINDINGS = ["managedws-python", "managedws-python-batch", "managedws-node"]
# A reference row of the round-trip tables, not a peer (never the "best
# peer"): bench/rtt_floor.c, a blocking socket writing one pre-masked frame
# and reading exactly the answer. No client can be faster against a server.
FLOOR = "floor"
# Its counterpart among the echo servers, also a reference row, not a peer:
# bench/echo_floor.c, blocking exact reads, the frame unmasked and sent back
# with one send(). No server can answer a given client faster.
FLOOR_SERVER = "floor-server"
# The idle-memory figure also measures our server holding mws.v1 sessions
# (held by our own clients, bench/idle_bench.c).
OURS_V1 = "managedws/mws.v1"

# Round trip: which mode each client measures. App thread: send and wait
# for the echo on the application's thread. Callback: the next message
# leaves from inside the message callback. Event-loop libraries have only
# the callback (their app thread is the loop).
RTT_MODES: Dict[str, List[str]] = {
    "managedws": ["rtt", "rtt_cb"],
    "ws": ["rtt_cb"],
    "websockets": ["rtt"],
    "gorilla": ["rtt"],
    "picows": ["rtt_cb"],
    "managedws-python": ["rtt", "rtt_cb"],
    "managedws-python-batch": [],  # throughput only
    "managedws-node": ["rtt_cb"],
    FLOOR: ["rtt"],
}


def client_cmd(name: str, url: str, mode: str, count: int, size: int) -> List[str]:
    args = [url, mode, str(count), str(size)]
    if name == "managedws":
        return [CLIENT_BENCH] + args + ["plain"]
    if name == V1:
        return [CLIENT_BENCH] + args + ["v1"]
    if name == FLOOR:
        return [RTT_FLOOR] + args
    if name == "ws":
        return ["node", os.path.join(NODE_DIR, "client.mjs"), "ws"] + args
    if name == "managedws-node":
        return ["node", os.path.join(NODE_DIR, "client.mjs"), "managedws"] + args
    if name == "gorilla":
        return [GORILLA, "client"] + args
    lib = {"websockets": "websockets", "picows": "picows", "managedws-python": "managedws",
           "managedws-python-batch": "managedws-batch"}[name]
    return [PY, PEER_PY, lib, "client"] + args


def server_cmd(name: str, mode: str, fd_limit: int = 4096, port: int = 0,
               spread_ms: int = 5000, accept_log: bool = False,
               release_port: bool = False) -> List[str]:
    """mode: echo | sink | idle. Ours is `mws serve` for echo; server_bench
    (same library, public header) for sink, idle (more sockets than the
    CLI's context allows) and the storm (accept log per 100 ms)."""
    if name.startswith(OURS):
        if mode == "echo" and fd_limit <= 4096 and not accept_log:
            return [MWS, "serve", "--mode", "echo", "--print-port", "--quiet", "--rate", "0",
                    "--ping-interval", "0", "--summary-interval", "0",
                    "--shutdown-spread", str(spread_ms)]
        cmd = [SERVER_BENCH, "sink" if mode == "sink" else "echo", "--fd-limit", str(fd_limit),
               "--port", str(port), "--spread", str(spread_ms)]
        return (cmd + (["--accept-log"] if accept_log else []) +
                (["--release-port"] if release_port else []))
    peer_mode = "sink" if mode == "sink" else "echo"
    if name == FLOOR_SERVER and mode == "echo":
        return [ECHO_FLOOR]
    if name == "ws":
        return ["node", os.path.join(NODE_DIR, "server.mjs"), peer_mode]
    if name == "gorilla":
        return [GORILLA, "server", peer_mode]
    return [PY, PEER_PY, name, "server", peer_mode]


def idle_cmd(url: str, n: int, src: str, server: str = "") -> List[str]:
    """Plain idle connections from gorilla; mws.v1 sessions from our client."""
    if server == OURS_V1:
        return [IDLE_BENCH, url, str(n), src, "--heartbeat", "15000", "--timeout", "240"]
    return [GORILLA, "idle", url, str(n), src]
