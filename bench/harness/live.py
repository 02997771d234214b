"""Many live idle connections (issue 13 item 5), a benchmark, never a test:
bench/live.sh runs  python -m harness.live [--single N] [--total N] ...

1. One `mws serve` holding --single (19,000: the fd hard limit here is
   20,000) idle mws.v1 sessions, and Node `ws` holding the same number
   (plain WebSocket: ws has no mws.v1), each on its own.
2. --total (50,000) idle mws.v1 sessions across --nodes (3) `mws serve`
   processes on three ports.

Clients: bench/idle_bench (our library), --per-proc connections per process,
each process leaving from its own 127.0.0.x (one source address has about
28,000 local ports), heartbeats every --hb ms. Servers pinned to CPU 0,
clients to CPU 1. For each server: RSS per connection (after - before, over
the connections), CPU while idle over --idle seconds (% of one core), the
heartbeat round trip (clients' own figures: median of their p50s, the worst
holder's 99th percentile of their p99s) and the time until every
connection was accepted (all holders start together; the slowest READY).
Writes bench/results/<date>-live.md and .json."""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from typing import Dict, List

from . import peers, procs

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def mws_serve(n: int, hb_ms: int, loop: str = "poll") -> List[str]:
    # Sessions and connections bounded by n; no per-address handshake or rate
    # bound (a few source addresses carry everything); the server reaps a
    # client silent for 3 heartbeats; clients ping, the server does not.
    return [peers.MWS, "serve", "--print-port", "--quiet", "--summary-interval", "0",
            "--rate", "0", "--max-handshakes-per-address", "-1",
            "--max-connections", str(n + 100), "--max-sessions", str(n + 100),
            "--ping-interval", "0", "--heartbeat-timeout", str(3 * hb_ms),
            "--event-loop", loop]


def ws_serve() -> List[str]:
    return ["node", os.path.join(peers.NODE_DIR, "server.mjs"), "echo"]


def hold(servers: Dict[str, tuple], conns: Dict[str, int], args, src0: int, log) -> dict:
    """servers: name -> (Popen, port, v1). Opens conns[name] idle
    connections to each at once, waits --idle s, reads every figure. Each
    run starts its source addresses at its own src0: the previous run's
    closed ports linger in TIME_WAIT on theirs."""
    out: Dict[str, dict] = {}
    before = {name: procs.rss_bytes(p.pid) for name, (p, _, _) in servers.items()}
    holders: Dict[str, List[subprocess.Popen]] = {name: [] for name in servers}
    src = src0
    t0 = time.monotonic()
    for name, (p, port, v1) in servers.items():
        left = conns[name]
        while left > 0:
            k = min(args.per_proc, left)
            cmd = [peers.IDLE_BENCH, "ws://127.0.0.1:%d/" % port, str(k), "127.0.0.%d" % src,
                   "--heartbeat", str(args.hb), "--timeout", str(args.connect_timeout)]
            if not v1:
                cmd.append("--plain")
            holders[name].append(procs.start(cmd, procs.CLIENT_CPU, stdin=subprocess.PIPE))
            left -= k
            src += 1
    for name, hs in holders.items():
        ready = [procs.read_line(h, "READY ", args.connect_timeout + 30).split() for h in hs]
        opened = sum(int(r[1]) for r in ready)
        secs = max(float(r[2]) for r in ready)
        out[name] = {"target": conns[name], "connected": opened, "accept_all_s": secs,
                     "holders": len(hs)}
        log("  %-12s %6d of %d connected in %.1f s (%d client processes)" % (
            name, opened, conns[name], secs, len(hs)))
    log("  all connected after %.1f s; idle for %d s" % (time.monotonic() - t0, args.idle))
    # A light probe per server: its round trips are the server's, not those
    # of a client process busy with thousands of sockets of its own.
    probes = {}
    for name, (p, port, v1) in servers.items():
        cmd = [peers.IDLE_BENCH, "ws://127.0.0.1:%d/" % port, str(args.probe), "127.0.0.%d" % src,
               "--heartbeat", str(args.probe_hb), "--timeout", "60"] + ([] if v1 else ["--plain"])
        src += 1
        probes[name] = procs.start(cmd, procs.CLIENT_CPU, stdin=subprocess.PIPE)
        procs.read_line(probes[name], "READY ", 90)
    time.sleep(3)  # handshakes' transient buffers freed, the last welcomes written
    cpu0 = {name: cpu_seconds(p.pid) for name, (p, _, _) in servers.items()}
    t_idle = time.monotonic()
    time.sleep(args.idle)
    dt = time.monotonic() - t_idle
    for name, (p, _, _) in servers.items():
        o = out[name]
        o["cpu_idle_pct"] = 100.0 * (cpu_seconds(p.pid) - cpu0[name]) / dt
        o["rss_before"] = before[name]
        o["rss_after"] = procs.rss_bytes(p.pid)
        o["rss_per_conn"] = (o["rss_after"] - o["rss_before"]) / max(1, o["connected"])
        stats = []
        for h in holders[name]:
            h.stdin.write("stats\n")
            h.stdin.flush()
            stats.append(procs.read_line(h, "STATS ", 60).split()[1:])
        st = [dict(zip(s[0::2], (int(x) for x in s[1::2]))) for s in stats]
        o["still_connected"] = sum(s["connected"] for s in st)
        o["managed"] = sum(s["managed"] for s in st)
        o["reconnects"] = sum(s["reconnects"] for s in st)
        o["heartbeats"] = sum(s["heartbeats"] for s in st)
        p50s = sorted(s["rtt_p50_us"] for s in st if s["rtt_clients"])
        o["hb_rtt_p50_us"] = p50s[len(p50s) // 2] if p50s else None
        o["hb_rtt_p99_us"] = max((s["rtt_p99_us"] for s in st if s["rtt_clients"]), default=None)
        o["hb_rtt_max_us"] = max((s["rtt_max_us"] for s in st if s["rtt_clients"]), default=None)
        pr = probes[name]
        pr.stdin.write("stats\n")
        pr.stdin.flush()
        ps = procs.read_line(pr, "STATS ", 60).split()[1:]
        ps = dict(zip(ps[0::2], (int(x) for x in ps[1::2])))
        o["probe_rtt_p50_us"] = ps["rtt_p50_us"] if ps["rtt_clients"] else None
        o["probe_rtt_p99_us"] = ps["rtt_p99_us"] if ps["rtt_clients"] else None
        o["probe_connected"] = ps["connected"]
        log("  %-12s RSS %.1f -> %.1f MiB = %.0f B/conn; idle CPU %.2f %% of a core; "
            "heartbeat rtt p50 %s us p99 %s us (probe p50 %s us p99 %s us); %d still connected, "
            "%d mws.v1, %d reconnects" % (
                name, o["rss_before"] / 2**20, o["rss_after"] / 2**20, o["rss_per_conn"],
                o["cpu_idle_pct"], o["hb_rtt_p50_us"], o["hb_rtt_p99_us"],
                o["probe_rtt_p50_us"], o["probe_rtt_p99_us"],
                o["still_connected"], o["managed"], o["reconnects"]))
    for hs in holders.values():
        for h in hs:
            procs.stop(h, 30)
    for pr in probes.values():
        procs.stop(pr, 30)
    return out


def start_servers(specs: Dict[str, tuple]) -> Dict[str, tuple]:
    out = {}
    for name, (cmd, v1) in specs.items():
        p = procs.start(cmd, procs.SERVER_CPU)
        port = int(procs.read_line(p, "PORT ", 20).split()[1])
        out[name] = (p, port, v1)
    time.sleep(1.0)
    return out


def markdown(res: dict) -> str:
    m = res["meta"]
    lines = ["# Live idle connections, %s" % m["date"], "",
             "Machine: %s, %d CPUs, fd hard limit %d; servers pinned to CPU 0, clients "
             "(`bench/idle_bench`, our library, %d connections per process, each from its own "
             "127.0.0.x) to CPU 1. Client heartbeats every %d ms; idle window %d s. %s" % (
                 m["machine"], m["cpus"], m["fd_hard_limit"], m["per_proc"], m["hb_ms"],
                 m["idle_s"], m["note"]), "",
             "Heartbeat round trip: the clients' own figures (mws.v1 envelope pings; against "
             "`ws`, RFC 6455 pings): median of the clients' p50, and the worst client "
             "process's 99th percentile of its clients' p99. CPU: the server process's "
             "user+system time over the idle window, % of one core. Accept time: from starting "
             "all client processes together to the last connection up.", "",
             "Probe: %d more clients of ours per server, in their own process, heartbeats every "
             "%d ms while the others idle: the server's round trip without a client process "
             "busy with thousands of sockets of its own." % (m["args"]["probe"], m["args"]["probe_hb"]), "",
             "| run | server | connections | RSS per connection | idle CPU | heartbeat rtt p50 / p99 (holders) | probe rtt p50 / p99 | accept all |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for run, rows in res["runs"].items():
        for name, o in rows.items():
            us = lambda v: "{:,}".format(v) if v is not None else "–"
            lines.append("| %s | %s | %d of %d (%d mws.v1) | %s B | %.2f %% | %s / %s µs | %s / %s µs | %.1f s |" % (
                run, name, o["still_connected"], o["target"], o["managed"],
                "{:,.0f}".format(o["rss_per_conn"]), o["cpu_idle_pct"],
                us(o["hb_rtt_p50_us"]), us(o["hb_rtt_p99_us"]),
                us(o.get("probe_rtt_p50_us")), us(o.get("probe_rtt_p99_us")), o["accept_all_s"]))
    tot = res["runs"].get("cluster")
    if tot:
        lines += ["", "Cluster total: %d of %d connections held by %d nodes." % (
            sum(o["still_connected"] for o in tot.values()),
            sum(o["target"] for o in tot.values()), len(tot))]
    if res.get("errors"):
        lines += ["", "Errors:"] + ["- " + e for e in res["errors"]]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--single", type=int, default=19000, help="one node's connections")
    ap.add_argument("--total", type=int, default=50000, help="across the nodes")
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--per-proc", type=int, default=2500, help="connections per client process")
    ap.add_argument("--probe", type=int, default=50, help="probe clients per server")
    ap.add_argument("--probe-hb", type=int, default=1000, help="probe heartbeat interval, ms")
    ap.add_argument("--hb", type=int, default=15000, help="client heartbeat interval, ms")
    ap.add_argument("--idle", type=int, default=30, help="idle window, s")
    ap.add_argument("--connect-timeout", type=int, default=300)
    ap.add_argument("--only", default="single,ws,cluster")
    ap.add_argument("--loops", default="poll,epoll",
                    help="mws serve --event-loop for the single-node run, each in turn; "
                         "the cluster runs on the last")
    ap.add_argument("--note", default="")
    ap.add_argument("--out", default=os.path.join(peers.ROOT, "bench", "results"))
    args = ap.parse_args()
    procs.exit_on_signal()
    fd_hard = procs.raise_fd_limit()
    only = set(args.only.split(","))
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")
    res = {"meta": {"date": stamp, "machine": platform.node(), "cpus": os.cpu_count(),
                    "fd_hard_limit": fd_hard, "per_proc": args.per_proc, "hb_ms": args.hb,
                    "idle_s": args.idle, "note": args.note, "args": vars(args)},
           "runs": {}, "errors": []}

    def log(s: str) -> None:
        print(s, flush=True)

    t_start = time.monotonic()
    try:
        loops = args.loops.split(",")
        for i, loop in enumerate(loops if "single" in only else []):
            print("== one mws serve (%s), %d idle mws.v1 sessions" % (loop, args.single),
                  flush=True)
            name = "mws serve, %s" % loop
            s = start_servers({name: (mws_serve(args.single, args.hb, loop), True)})
            try:
                res["runs"]["single " + loop] = hold(s, {name: args.single}, args,
                                                     10 + 60 * i, log)
            finally:
                for p, _, _ in s.values():
                    procs.stop(p, 60)
        if "ws" in only:
            print("== Node ws, %d idle connections" % args.single, flush=True)
            s = start_servers({"ws": (ws_serve(), False)})
            try:
                res["runs"]["single ws"] = hold(s, {"ws": args.single}, args, 30 + 60 * len(loops), log)
            finally:
                for p, _, _ in s.values():
                    procs.stop(p, 60)
        if "cluster" in only:
            per = [args.total // args.nodes + (1 if i < args.total % args.nodes else 0)
                   for i in range(args.nodes)]
            print("== %d mws serve nodes, %d idle mws.v1 sessions (%s)" % (
                args.nodes, args.total, per), flush=True)
            names = ["node %d" % (i + 1) for i in range(args.nodes)]
            s = start_servers({n: (mws_serve(k, args.hb, loops[-1]), True)
                               for n, k in zip(names, per)})
            try:
                res["runs"]["cluster"] = hold(s, dict(zip(names, per)), args,
                                              50 + 60 * len(loops), log)
            finally:
                for p, _, _ in s.values():
                    procs.stop(p, 60)
    except Exception as e:
        res["errors"].append(str(e))
        print("ERROR %s" % e, flush=True)
    finally:
        procs.stop_all()
    res["meta"]["seconds"] = round(time.monotonic() - t_start, 1)
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, stamp + "-live")
    with open(base + ".json", "w") as f:
        json.dump(res, f, indent=1)
    md = markdown(res)
    with open(base + ".md", "w") as f:
        f.write(md)
    print()
    print(md)
    print("written: %s.md, %s.json (%.0f s)" % (base, base, res["meta"]["seconds"]))
    return 1 if res["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
