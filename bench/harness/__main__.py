"""bench/run.sh's driver:  python -m harness [--quick] [--only FIGURES]

Measures every figure (see bench/README.md), prints the tables, writes
bench/results/<date>[-quick].md and .json and the PNG plots (also copied to
bench/results/latest-*.png, which the README shows)."""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import time

from . import figures, peers, plots, procs, report

FIGURES = ["client", "binding", "sink", "rtt", "server_rtt", "memory", "storm"]


def params(quick: bool, fd_hard: int) -> dict:
    # Idle connections: the server holds N sockets; keep a margin under the
    # fd hard limit for the listener, eventfds and the like.
    cap = fd_hard - 300
    if quick:
        return {"runs": 1, "tput_64": 20000, "tput_4k": 5000, "rtt": 1000,
                "idle": [500, 2000], "idle_per_proc": 1000, "storm": 500, "spread_ms": 2000}
    return {"runs": 3, "tput_64": 200000, "tput_4k": 50000, "rtt": 10000,
            "idle": [min(5000, cap), min(20000, cap)], "idle_per_proc": 5000,
            "storm": min(10000, cap), "spread_ms": 5000}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1 run, small counts (~3 min)")
    ap.add_argument("--only", default=",".join(FIGURES), help="comma-separated: " + ",".join(FIGURES))
    ap.add_argument("--note", default="", help="a sentence for the report (e.g. machine load)")
    ap.add_argument("--out", default=os.path.join(peers.ROOT, "bench", "results"))
    args = ap.parse_args()
    only = set(args.only.split(","))
    procs.exit_on_signal()
    fd_hard = procs.raise_fd_limit()
    p = params(args.quick, fd_hard)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")
    notes = []
    if not args.quick and p["idle"][-1] < 20000:
        notes.append("idle memory scaled to %d connections (fd hard limit %d, not 20,000)"
                     % (p["idle"][-1], fd_hard))
    notes.append("ratio = managedws / best peer: above 1 is better for throughput, "
                 "below 1 is better for round trips and bytes")
    notes.append("our server: `mws serve --mode echo` for echo; `bench/server_bench` (same "
                 "library, public header) for sink, idle memory and the storm")
    notes.append("managedws speaks plain WebSocket (one frame per message); managedws-v1 is the "
                 "same client speaking mws.v1 to our server (numbered, acknowledged, batched): "
                 "issue 10 targets >= 6x the Node ws client on 64 B")
    notes.append("rtt: managedws/rtt and websockets, gorilla wait on the app thread; */rtt_cb "
                 "(and ws, picows: event loop) send the next message from inside the callback")
    notes.append("floor/rtt and floor → SERVER: a probe, not a peer (bench/rtt_floor.c: a "
                 "blocking socket, one pre-masked frame written, exactly the answer read, no "
                 "parser): the least any client can take against that echo server. If the floor "
                 "is above 0.65x the best peer, no client meets that goal against that server")
    notes.append("floor-server (ws client) and floor → floor-server: the echo server's probe "
                 "(bench/echo_floor.c: blocking exact reads, the frame unmasked and sent back "
                 "with one send(), none of a real server's checks): the least any server can "
                 "take for the ws client, and for the floor probe (the kernel's share). If the "
                 "ws client against it is above 0.65x the best peer, no server meets that goal")
    res = {"meta": {"date": stamp, "quick": args.quick, "machine": platform.node(),
                    "cpus": os.cpu_count(), "server_cpu": procs.SERVER_CPU,
                    "client_cpu": procs.CLIENT_CPU, "runs": p["runs"], "note": args.note,
                    "counts": p, "notes": notes, "fd_hard_limit": fd_hard},
           "errors": []}

    def log(s: str) -> None:
        print(s, flush=True)
        if s.lstrip().startswith("ERROR"):
            res["errors"].append(s.strip())

    clients = [peers.OURS] + peers.PEERS
    servers = [peers.OURS] + peers.PEERS
    t_start = time.monotonic()
    try:
        if "client" in only:
            print("== client throughput (each client -> the same sink server)", flush=True)
            res["client_tput"] = {}
            for size, count in ((64, p["tput_64"]), (4096, p["tput_4k"])):
                for server in ("ws", peers.OURS):
                    # mws.v1 needs our server at the other end
                    both = clients + ([peers.V1] if server == peers.OURS else [])
                    res["client_tput"]["%d B -> %s server" % (size, server)] = figures.throughput(
                        both, server, size, count, p["runs"], log)
        if "binding" in only:
            print("== binding throughput (-> the ws sink server)", flush=True)
            res["binding_tput"] = {}
            for size, count in ((64, p["tput_64"]), (4096, p["tput_4k"])):
                res["binding_tput"]["%d B -> ws server" % size] = figures.throughput(
                    peers.BINDINGS + ["ws", "websockets", "picows"], "ws", size, count,
                    p["runs"], log)
        if "sink" in only:
            tput = res.get("client_tput", {}).get("64 B -> ws server", {})
            peer_rates = {k: v["median"] for k, v in tput.items() if k in clients}
            fastest = max(peer_rates, key=peer_rates.get) if peer_rates else "gorilla"
            print("== server sink (each server <- %s, the fastest client)" % fastest, flush=True)
            res["server_sink"] = {}
            for size, count in ((64, p["tput_64"]), (4096, p["tput_4k"])):
                res["server_sink"]["%d B from %s" % (size, fastest)] = figures.server_sink(
                    servers, fastest, size, count, p["runs"], log)
        if "rtt" in only:
            print("== client round trip (-> the ws echo server)", flush=True)
            res["client_rtt"] = {"64 B -> ws server": figures.rtt(
                clients + peers.BINDINGS + [peers.FLOOR], "ws", p["rtt"], 64, p["runs"], log)}
        if "server_rtt" in only:
            print("== server echo round trip (ws client)", flush=True)
            res["server_rtt"] = {"64 B, ws client": figures.server_rtt(
                servers, "ws", p["rtt"], 64, p["runs"], log)}
        if "memory" in only:
            res["idle_memory"] = {}
            for n in p["idle"]:
                print("== idle memory, %d connections" % n, flush=True)
                res["idle_memory"][str(n)] = figures.idle_memory(
                    [peers.OURS, peers.OURS_V1] + peers.PEERS, n, p["idle_per_proc"], log)
        if "storm" in only:
            print("== reconnect storm, %d clients" % p["storm"], flush=True)
            try:
                res["storm"] = figures.storm(p["storm"], p["spread_ms"], log)
            except Exception as e:
                log("  ERROR storm: %s" % e)
    finally:
        procs.stop_all()
    res["meta"]["seconds"] = round(time.monotonic() - t_start, 1)

    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, stamp + ("-quick" if args.quick else ""))
    md = report.markdown(res)
    with open(base + ".json", "w") as f:
        json.dump(res, f, indent=1)
    made = plots.draw(res, base)
    md += "\n" + "\n".join("![%s](%s)" % (os.path.basename(m), os.path.basename(m)) for m in made) + "\n"
    with open(base + ".md", "w") as f:
        f.write(md)
    for m in made:
        shutil.copyfile(m, os.path.join(args.out, "latest" + m[len(base):]))
    print()
    print(md)
    print("written: %s.md, %s.json, %d plots (%.0f s)" % (base, base, len(made),
                                                        res["meta"]["seconds"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
