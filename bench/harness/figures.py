"""Each figure of the run: starts the servers, runs the clients, returns
samples. Every process is pinned (server CPU 0, clients CPU 1) and stopped."""
from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import time
from typing import Dict, List

from . import peers, procs


def summary(values: List[float]) -> Dict[str, float]:
    """Median of the runs and their spread (min, max)."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": values}


def start_server(name: str, mode: str, **kw):
    p = procs.start(peers.server_cmd(name, mode, **kw), procs.SERVER_CPU)
    port = int(procs.read_line(p, "PORT ", 20).split()[1])
    return p, port


def client_json(name: str, url: str, mode: str, count: int, size: int) -> dict:
    line = procs.run_client(peers.client_cmd(name, url, mode, count, size), timeout=180)
    return json.loads(line)


# A server that compiles while it runs (Node ws: V8 optimises after tens of
# thousands of messages) is slower for whichever client meets it first, and
# a client that sends faster than a cold server reads is measured by the
# server. So each sink server first gets this many small messages from a
# peer (gorilla), unmeasured: the order of the clients does not matter.
WARMUP_SMALL_MSGS = 100000


def warm_up(url: str, server: str, size: int, count: int, log) -> None:
    n = max(count, WARMUP_SMALL_MSGS) if size <= 1024 else count
    try:
        client_json("gorilla", url, "throughput", n, size)
    except Exception as e:  # reported; the figure still runs
        log("  ERROR warm-up of the %s sink %d B: %s" % (server, size, e))


def sink_rate(name: str, url: str, n: int, size: int, server_pid: int = 0) -> dict:
    """One throughput run; a client that reports the sink's answer (the
    count the server received on its connection) must have delivered all.
    Also the client's own CPU per message (each client reports its process
    CPU over its timed window) and how busy the sink was meanwhile (its CPU
    over the window; at about 100 % the sink, not the client, set the pace)."""
    busy0 = procs.cpu_seconds(server_pid) if server_pid else None
    r = client_json(name, url, "throughput", n, size)
    busy = procs.cpu_seconds(server_pid) - busy0 if server_pid else None
    counted = r.get("counted", r.get("sink_count"))  # peers' name, client_bench's
    if counted is not None and int(counted) != n:
        raise RuntimeError("the sink counted %s of %d messages" % (counted, n))
    out = {"msg_per_s": r["msg_per_s"]}
    if r.get("cpu_s") is not None:
        out["cpu_us_per_msg"] = r["cpu_s"] * 1e6 / n
    if busy is not None and r.get("seconds"):
        # The client process's start and end fall outside its window: the
        # sink's CPU then is its warm-up's tail and the close, counted here.
        out["sink_busy"] = busy / r["seconds"]
    return out


def throughput(clients: List[str], server: str, size: int, count: int, runs: int,
               log) -> Dict[str, dict]:
    """msg/s of each client sending to ONE sink server (the same for all).
    The runs go round the clients (run 1 of each, then run 2 of each, ...),
    each round starting one client later: a sink that still speeds up from
    run to run (V8 optimising the Node `ws` sink's 4 KiB path over several
    runs), or collects the previous client's garbage, then favours no
    client by its place in the list."""
    p, port = start_server(server, "sink")
    url = "ws://127.0.0.1:%d/" % port
    out: Dict[str, dict] = {}
    got = {name: ([], [], []) for name in clients}  # msg/s, cpu, sink busy
    try:
        warm_up(url, server, size, count, log)
        for r in range(runs):
            k = r % len(clients)
            for name in clients[k:] + clients[:k]:
                # websockets is an order of magnitude slower: fewer messages.
                n = max(1000, count // 5) if name == "websockets" else count
                try:
                    r = sink_rate(name, url, n, size, p.pid)
                except Exception as e:  # reported, not hidden
                    log("  ERROR %s -> %s sink %d B: %s" % (name, server, size, e))
                    continue
                values, cpu, busy = got[name]
                values.append(r["msg_per_s"])
                if "cpu_us_per_msg" in r:
                    cpu.append(r["cpu_us_per_msg"])
                if "sink_busy" in r:
                    busy.append(r["sink_busy"])
    finally:
        procs.stop(p)
    for name in clients:
        values, cpu, busy = got[name]
        if not values:
            continue
        out[name] = summary(values)
        if len(cpu) == len(values):
            out[name]["cpu_us_per_msg"] = summary(cpu)
        if len(busy) == len(values):
            out[name]["sink_busy"] = summary(busy)
        log("  %-17s -> %-10s sink %5d B: %10.0f msg/s (runs %s)%s%s" % (
            name, server, size, out[name]["median"], [round(v) for v in values],
            "  client CPU %.2f us/msg" % statistics.median(cpu) if cpu else "",
            "  sink busy %.0f %%" % (100 * statistics.median(busy)) if busy else ""))
    return out


def server_sink(servers: List[str], client: str, size: int, count: int, runs: int,
                log) -> Dict[str, dict]:
    """msg/s each server receives from the same (fastest) client."""
    out: Dict[str, dict] = {}
    for server in servers:
        res = throughput([client], server, size, count, runs, log)
        if client in res:
            out[server] = res[client]
    return out


def rtt(clients: List[str], server: str, count: int, size: int, runs: int,
        log) -> Dict[str, dict]:
    """Round trip percentiles of each client (in each of its modes) against
    one echo server. Key: "client/mode"."""
    p, port = start_server(server, "echo")
    url = "ws://127.0.0.1:%d/" % port
    out: Dict[str, dict] = {}
    try:
        for name in clients:
            for mode in peers.RTT_MODES[name]:
                samples = {"p50_us": [], "p90_us": [], "p99_us": []}
                for _ in range(runs):
                    try:
                        r = client_json(name, url, mode, count, size)
                    except Exception as e:
                        log("  ERROR %s %s -> %s: %s" % (name, mode, server, e))
                        continue
                    for k in samples:
                        samples[k].append(r[k])
                if samples["p50_us"]:
                    out["%s/%s" % (name, mode)] = {k: summary(v) for k, v in samples.items()}
                    log("  %-17s %-6s -> %-10s p50 %7.1f us  p99 %8.1f us" % (
                        name, mode, server, statistics.median(samples["p50_us"]),
                        statistics.median(samples["p99_us"])))
    finally:
        procs.stop(p)
    return out


def server_rtt(servers: List[str], client: str, count: int, size: int, runs: int,
               log) -> Dict[str, dict]:
    """Round trip of one client (ws) against each echo server; and of the
    floor probe against the same server (row "floor → SERVER", a reference:
    the least any client can take against that server). Last, both against
    the floor server (rows "floor-server" and "floor → floor-server"): the
    least any server can take for that client, and the kernel's own share."""
    out: Dict[str, dict] = {}
    for server in servers + [peers.FLOOR_SERVER]:
        res = rtt([client, peers.FLOOR], server, count, size, runs, lambda s: None)
        for key, v in res.items():
            name = server if key.split("/")[0] == client else "%s → %s" % (peers.FLOOR, server)
            out[name] = v
            log("  %-10s echo, %s client: p50 %7.1f us  p99 %8.1f us" % (
                server, key.split("/")[0], v["p50_us"]["median"], v["p99_us"]["median"]))
    return out


def idle_memory(servers: List[str], n: int, per_proc: int, log) -> Dict[str, dict]:
    """Server RSS delta / n with n idle connections from several processes
    and source addresses 127.0.0.2, .3, ... (the holders are not pinned)."""
    out: Dict[str, dict] = {}
    for k_server, server in enumerate(servers):
        # Each server's holders leave from their own addresses: the ports the
        # previous one closed linger in TIME_WAIT on theirs.
        src0 = 2 + 8 * k_server
        p, port = start_server(server, "idle", fd_limit=n + 256)
        url = "ws://127.0.0.1:%d/" % port
        holders = []
        try:
            time.sleep(1.0)
            before = procs.rss_bytes(p.pid)
            left, i = n, 0
            while left > 0:
                k = min(per_proc, left)
                holders.append(procs.start(peers.idle_cmd(url, k, "127.0.0.%d" % (src0 + i), server), None,
                                           stdin=subprocess.PIPE))
                left -= k
                i += 1
            opened = sum(int(procs.read_line(h, "READY ", 300).split()[1]) for h in holders)
            time.sleep(2.0)  # let the server settle
            after = procs.rss_bytes(p.pid)
            out[server] = {"connections": opened, "rss_before": before, "rss_after": after,
                           "bytes_per_conn": (after - before) / opened if opened else None}
            log("  %-10s %6d conns: RSS %6.1f -> %6.1f MiB, %8.0f B/conn" % (
                server, opened, before / 2**20, after / 2**20,
                out[server]["bytes_per_conn"] or 0))
            if opened < n:
                log("  ERROR %s: only %d of %d connections opened" % (server, opened, n))
        except Exception as e:
            log("  ERROR %s idle %d: %s" % (server, n, e))
        finally:
            for h in holders:
                procs.stop(h, 20)
            procs.stop(p, 20)
    return out


def start_successor(fd: int, port: int, spread_ms: int, until: float):
    """The restarted server on the same port, started again until it can
    listen there (the old one lets the port go when its shutdown begins, or
    at its exit), bounded by until (monotonic s)."""
    while True:
        b = procs.start(peers.server_cmd("managedws", "echo", fd_limit=fd, port=port,
                                         spread_ms=spread_ms, accept_log=True),
                        procs.SERVER_CPU)
        try:
            procs.read_line(b, "PORT ", 20)
            return b
        except RuntimeError:
            procs.stop(b, 5)  # "cannot listen": the port is still taken
            if time.monotonic() > until:
                raise
            time.sleep(0.02)


def storm(n: int, spread_ms: int, log) -> dict:
    """n managed clients on one context; our server restarted gracefully
    (1012 with retry-after spread over spread_ms); accepts per 100 ms at
    the restarted server. Times are CLOCK_MONOTONIC ms from the moment the
    first server was told to stop (Python's monotonic clock is the C one).
    The mean is over the window the clients could use: from the first
    accept to the end of the announced spread window, or to the last accept
    if that came later."""
    fd = n + 256
    load_before = os.getloadavg()[0]
    # The old server lets the port go when its shutdown begins (clients that
    # come back before the new one listens are refused, not answered 503 by
    # a server busy draining); the new one starts once the old one is gone.
    a, port = start_server("managedws", "echo", fd_limit=fd, spread_ms=spread_ms,
                           release_port=True)
    c = procs.start([peers.STORM_BENCH, "ws://127.0.0.1:%d/" % port, str(n), "120"],
                    procs.CLIENT_CPU)
    b = None
    try:
        ready = int(procs.read_line(c, "READY ", 130).split()[1])
        log("  %d of %d clients connected; restarting the server" % (ready, n))
        t_stop = time.monotonic() * 1000
        procs.stop(a, 30)  # graceful: closes with 1012 + retry-after hints
        b = start_successor(fd, port, spread_ms, time.monotonic() + 30)
        listen_ms = time.monotonic() * 1000 - t_stop
        late = []  # storm_bench's stories of the last clients back, then RECONNECTED
        for _ in range(64):
            line = procs.read_line(c, "", 130)
            if not line.startswith("LATE "):
                break
            late.append(line[len("LATE "):])
        if not line.startswith("RECONNECTED "):
            raise RuntimeError("storm_bench said %r, not RECONNECTED" % line)
        parts = line.split(" | ")
        line = parts[0].split()
        back, secs, failed = int(line[1]), float(line[2]), int(line[3])
        whys = [{"attempts": int(w.split(None, 1)[0]), "reason": w.split(None, 1)[1]}
                for w in parts[1:] if len(w.split(None, 1)) == 2]  # why attempts failed
        b.send_signal(signal.SIGTERM)
        acc = procs.read_line(b, "ACCEPTS ", 60).split()[1:]
        first_ms = int(acc[0]) - t_stop
        buckets = [int(x) for x in acc[1:]]
        procs.stop(b, 30)
        nonzero = [i for i, v in enumerate(buckets) if v]
        window = buckets[: nonzero[-1] + 1] if nonzero else []
        # Empty buckets up to the end of the announced window count too.
        to_end = int((spread_ms - first_ms) // 100) + 1 if window else 0
        window += [0] * max(0, to_end - len(window))
        mean = sum(window) / len(window) if window else 0.0
        peak = max(window) if window else 0
        res = {"clients": n, "connected": ready, "reconnected": back, "seconds": secs,
               "spread_ms": spread_ms, "accepts_per_100ms": window, "peak": peak,
               "mean": mean,
               # not a figure of a storm that did not end: not all came back
               "peak_over_mean": peak / mean if mean and back >= ready else None,
               "listen_ms": round(listen_ms), "first_accept_ms": round(first_ms),
               "last_accept_ms": round(first_ms + 100 * (nonzero[-1] + 1)) if nonzero else None,
               "failed_attempts": failed, "failed_why": whys, "late_clients": late,
               "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)}
        log("  %d of %d back in %.2f s; accepts/100 ms peak %d, mean %.1f, peak/mean %.2f" % (
            back, ready, secs, peak, mean, res["peak_over_mean"] or 0))
        log("  new server listening %d ms after the stop, first accept at %d ms, last by %s ms; "
            "%d attempts failed" % (res["listen_ms"], res["first_accept_ms"],
                                     res["last_accept_ms"], failed))
        for w in whys:
            log("    %6d failed: %s" % (w["attempts"], w["reason"]))
        for l in late[:3]:
            log("    late: %s" % l)
        return res
    finally:
        procs.stop(c, 30)
        procs.stop(a, 30)
        if b is not None:
            procs.stop(b, 30)
