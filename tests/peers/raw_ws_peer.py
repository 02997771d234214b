#!/usr/bin/env python3
"""A hand-written WebSocket server over raw sockets (standard library only),
for client tests that need a peer doing what no well-behaved library does on
request: exact frames, strict header checks, hostile sending.

It binds 127.0.0.1 on port 0, prints "PORT <n>" once it listens, then nothing
more on stdout. Every accepted TCP connection appends one line "accept" to
the --log file (when given), so a test can count connections.

--mode:
  echo              upgrade, echo text and binary messages
  strict-host       answer 400 unless Host is exactly "127.0.0.1:<port>",
                    as strict servers do (RFC 7230 5.4); else echo, and the
                    first message back is "host=<Host>"
  reject-400        answer every handshake with HTTP/1.1 400
  close-1001        upgrade, then close at once with 1001 "going away"
  empty-fragments   send a text message of three empty fragments, a binary
                    one likewise, then the text "done"; then echo
  ack-string        send {"type":"connection_ack","connectionId":<--id as a
  ack-number        string / as a number>}; answer each JSON heartbeat with a
                    heartbeat_ack, then "seen:" + the heartbeat's text
  flood-halfclose   read nothing, send --flood-frames binary frames of 64 KiB,
                    half-close (FIN), log "fin", then keep the socket open
                    unread
  no-read           upgrade, then read nothing for --hold seconds (a
                    receiver that stopped: the client's socket fills)
  ping-order        for each of two cases, five round trips (the client
                    echoes; its socket is then quiet), then in one write a
                    ping and a message (case A) or a ping between two
                    fragments (case B); then sends "order:<case>:pong-first"
                    if the next two frames were the pong and the echo, in
                    that order, else "order:<case>:echo-first"
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import socket
import struct
import sys
import threading

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def read_request(sock: socket.socket) -> tuple[str, dict[str, str]] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk or len(data) > 65536:
            return None
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers


def upgrade(sock: socket.socket, headers: dict[str, str]) -> None:
    key = headers.get("sec-websocket-key", "")
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    sock.sendall(
        (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        ).encode()
    )


def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


def recv_exact(sock: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def recv_frame(sock: socket.socket) -> tuple[int, bool, bytes] | None:
    head = recv_exact(sock, 2)
    if head is None:
        return None
    fin, opcode = bool(head[0] & 0x80), head[0] & 0x0F
    n = head[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", recv_exact(sock, 2) or b"\0\0")[0]
    elif n == 127:
        n = struct.unpack("!Q", recv_exact(sock, 8) or b"\0" * 8)[0]
    mask = recv_exact(sock, 4) if head[1] & 0x80 else b"\0\0\0\0"
    payload = recv_exact(sock, n) if n else b""
    if mask is None or payload is None:
        return None
    return opcode, fin, bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def messages(sock: socket.socket):
    """Yields (opcode, payload) per message; answers pings; stops on close."""
    parts: list[bytes] = []
    kind = 0
    while True:
        f = recv_frame(sock)
        if f is None:
            return
        opcode, fin, payload = f
        if opcode == 0x8:
            sock.sendall(frame(0x8, payload[:2]))
            return
        if opcode == 0x9:
            sock.sendall(frame(0xA, payload))
            continue
        if opcode == 0xA:
            continue
        if opcode in (0x1, 0x2):
            kind, parts = opcode, []
        parts.append(payload)
        if fin:
            yield kind, b"".join(parts)


def ping_order(sock: socket.socket) -> None:
    """See --mode ping-order: is a pong owed from a ping read before a
    message written before the client's echo of that message?"""
    cases = {"A": frame(0x9, b"p") + frame(0x1, b"last"),
             "B": frame(0x1, b"la", fin=False) + frame(0x9, b"p") + frame(0x0, b"st")}
    for name, frames in cases.items():
        for i in range(5):
            sock.sendall(frame(0x1, b"r%d" % i))
            if recv_frame(sock) is None:
                return
        sock.sendall(frames)
        got = [recv_frame(sock) for _ in range(2)]
        if None in got:
            return
        first = "pong" if [f[0] for f in got] == [0xA, 0x1] else "echo"
        sock.sendall(frame(0x1, b"order:%s:%s-first" % (name.encode(), first.encode())))


def serve_one(sock: socket.socket, args: argparse.Namespace, port: int) -> None:
    req = read_request(sock)
    if req is None:
        return
    _, headers = req
    mode = args.mode
    host = headers.get("host", "")
    if mode == "reject-400" or (mode == "strict-host" and host != f"127.0.0.1:{port}"):
        body = b"bad request\n"
        sock.sendall(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        return
    upgrade(sock, headers)
    if mode == "strict-host":
        sock.sendall(frame(0x1, f"host={host}".encode()))
    if mode == "close-1001":
        sock.sendall(frame(0x8, struct.pack("!H", 1001) + b"going away"))
        for _ in messages(sock):
            pass
        return
    if mode == "empty-fragments":
        for opcode in (0x1, 0x2):
            sock.sendall(frame(opcode, b"", fin=False) + frame(0x0, b"", fin=False)
                         + frame(0x0, b""))
        sock.sendall(frame(0x1, b"done"))
    if mode in ("ack-string", "ack-number"):
        conn_id: object = args.id if mode == "ack-string" else int(args.id)
        sock.sendall(frame(0x1, json.dumps({"type": "connection_ack",
                                            "connectionId": conn_id}).encode()))
    if mode == "no-read":
        threading.Event().wait(args.hold)
        return
    if mode == "ping-order":
        ping_order(sock)
        for _ in messages(sock):
            pass
        return
    if mode == "flood-halfclose":
        chunk = frame(0x2, b"\x55" * 65536)
        try:
            for _ in range(args.flood_frames):
                sock.sendall(chunk)
        except OSError:
            return
        sock.shutdown(socket.SHUT_WR)
        if args.log:
            with open(args.log, "a", encoding="utf-8") as f:
                f.write("fin\n")
        threading.Event().wait(args.hold)
        return
    for opcode, payload in messages(sock):
        if mode in ("ack-string", "ack-number") and opcode == 0x1:
            try:
                msg = json.loads(payload)
            except ValueError:
                msg = None
            if isinstance(msg, dict) and msg.get("type") == "heartbeat":
                ack = {"type": "heartbeat_ack", "timestamp": msg.get("timestamp")}
                sock.sendall(frame(0x1, json.dumps(ack).encode()))
                sock.sendall(frame(0x1, b"seen:" + payload))
                continue
        sock.sendall(frame(opcode, payload))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="echo")
    ap.add_argument("--log")
    ap.add_argument("--id", default="7")
    ap.add_argument("--flood-frames", type=int, default=200)
    ap.add_argument("--hold", type=float, default=30.0)
    args = ap.parse_args()
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(128)
    port = lsock.getsockname()[1]
    print(f"PORT {port}", flush=True)
    lock = threading.Lock()

    def run(sock: socket.socket) -> None:
        with sock:
            try:
                serve_one(sock, args, port)
            except OSError:
                pass

    while True:
        sock, _ = lsock.accept()
        if args.log:
            with lock, open(args.log, "a", encoding="utf-8") as f:
                f.write("accept\n")
        threading.Thread(target=run, args=(sock,), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
