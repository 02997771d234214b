"""The run's tables (markdown, printed and written) and its JSON."""
from __future__ import annotations

from typing import Dict, List, Optional

from . import peers


def _best_peer(values: Dict[str, float], higher_better: bool) -> Optional[str]:
    cands = {k: v for k, v in values.items() if k.split("/")[0] in peers.PEERS}
    if not cands:
        return None
    return (max if higher_better else min)(cands, key=cands.get)


def _fmt(v: float, unit: str) -> str:
    if unit == "msg/s":
        return "{:,.0f}".format(v)
    if unit == "B":
        return "{:,.0f}".format(v)
    return "{:,.1f}".format(v)


def table(title: str, unit: str, rows: Dict[str, dict], key: Optional[str],
          higher_better: bool) -> List[str]:
    """One markdown table: name, median, spread, ratio vs the best peer."""
    med = {k: (v[key] if key else v)["median"] for k, v in rows.items()}
    best = _best_peer(med, higher_better)
    out = ["### " + title, "",
           "| | median (%s) | spread (min–max) | vs best peer%s |" % (
               unit, " (%s)" % best if best else ""),
           "| --- | ---: | ---: | ---: |"]
    for name in sorted(med, key=med.get, reverse=higher_better):
        v = (rows[name][key] if key else rows[name])
        ratio = "%.2f×" % (med[name] / med[best]) if best and med[best] else "–"
        out.append("| %s | %s | %s–%s | %s |" % (
            name, _fmt(v["median"], unit), _fmt(v["min"], unit), _fmt(v["max"], unit), ratio))
    return out + [""]


def _summary_row(label: str, unit: str, rows: Dict[str, dict], key: Optional[str],
                 higher_better: bool, ours: str = peers.OURS) -> Optional[str]:
    med = {k: (v[key] if key else v)["median"] for k, v in rows.items()}
    best = _best_peer(med, higher_better)
    mine = [k for k in med if k.split("/")[0] == ours]
    if not best or not mine:
        return None
    m = (max if higher_better else min)(mine, key=med.get)
    return "| %s | %s %s (%s) | %s %s (%s) | **%.2f×** |" % (
        label, _fmt(med[m], unit), unit, m, _fmt(med[best], unit), unit, best, med[m] / med[best])


def _floor_rows(label: str, rows: Dict[str, dict]) -> List[str]:
    """The floor probe's p50 beside the best peer's (a reference, not a
    peer): the best ratio any client could reach against that server."""
    med = {k: v["p50_us"]["median"] for k, v in rows.items()}
    best = _best_peer(med, False)
    out = []
    for k in sorted(med):
        if k.split("/")[0].split(" ")[0] in (peers.FLOOR, peers.FLOOR_SERVER) and best:
            out.append("| floor (a probe, not a peer): %s p50 | %s µs (%s) | %s µs (%s) "
                       "| %.2f× |" % (label, _fmt(med[k], "µs"), k, _fmt(med[best], "µs"), best,
                                      med[k] / med[best]))
    return out


# (binding, the peer it is held against, the goal of issue 11 item 5)
BINDING_GOALS = [("managedws-python", "picows", "2"), ("managedws-node", "ws", "1.5")]


def summary_table(res: dict) -> List[str]:
    """One line per figure, as in issue 11: ours, the best peer, the ratio."""
    out = ["## Summary", "", "| figure | managedws | best peer | ratio |", "| --- | --- | --- | ---: |"]
    rows = []
    for label, r in res.get("client_tput", {}).items():
        rows.append(_summary_row("client throughput " + label, "msg/s", r, None, True))
    for label, r in res.get("client_tput", {}).items():
        # issue 10: mws.v1 batching against the Node ws client, same server
        if label.startswith("64 B") and peers.V1 in r and "ws" in r and r["ws"]["median"]:
            v1, ws = r[peers.V1]["median"], r["ws"]["median"]
            rows.append("| mws.v1 client throughput %s vs Node ws (target ≥ 6×) | %s msg/s (%s) "
                        "| %s msg/s (ws) | **%.2f×** |" % (label, _fmt(v1, "msg/s"), peers.V1,
                                                          _fmt(ws, "msg/s"), v1 / ws))
    for label, r in res.get("binding_tput", {}).items():
        for b in peers.BINDINGS:
            rows.append(_summary_row("%s throughput %s" % (b, label), "msg/s", r, None, True, b))
        # issue 11 item 5: each binding beside the peer of its language
        for b, peer, goal in BINDING_GOALS:
            if label.startswith("64 B") and b in r and peer in r and r[peer]["median"]:
                mine, theirs = r[b]["median"], r[peer]["median"]
                rows.append("| %s throughput %s vs %s (target ≥ %s×) | %s msg/s | %s msg/s (%s) "
                            "| **%.2f×** |" % (b, label, peer, goal, _fmt(mine, "msg/s"),
                                               _fmt(theirs, "msg/s"), peer, mine / theirs))
    for label, r in res.get("client_tput", {}).items():
        cpu = {k: v for k, v in r.items() if "cpu_us_per_msg" in v}
        rows.append(_summary_row("client CPU per message " + label, "µs", cpu,
                                 "cpu_us_per_msg", False))
    for label, r in res.get("server_sink", {}).items():
        rows.append(_summary_row("server sink " + label, "msg/s", r, None, True))
    for label, r in res.get("client_rtt", {}).items():
        rows.append(_summary_row("client round trip p50 " + label, "µs", r, "p50_us", False))
        rows.append(_summary_row("client round trip p99 " + label, "µs", r, "p99_us", False))
        rows += _floor_rows("client round trip " + label, r)
    for label, r in res.get("server_rtt", {}).items():
        rows.append(_summary_row("server echo round trip p50 " + label, "µs", r, "p50_us", False))
        rows += _floor_rows("server echo round trip " + label, r)
    for level, r in (res.get("idle_memory") or {}).items():
        per = {k: {"median": v["bytes_per_conn"]} for k, v in r.items() if v.get("bytes_per_conn")}
        rows.append(_summary_row("server RSS per idle connection (%s conns)" % level, "B", per,
                                 None, False))
    s = res.get("storm")
    if s and s.get("peak_over_mean"):
        rows.append("| reconnect storm, %d clients: accepts/100 ms peak/mean | %.2f | – | – |" % (
            s["reconnected"], s["peak_over_mean"]))
    return out + [r for r in rows if r] + [""]


def cpu_table(title: str, rows: Dict[str, dict]) -> List[str]:
    """Each client's own CPU per message in a throughput figure, and how
    busy the sink server was meanwhile (about 100 %: the sink set the pace,
    and the msg/s compares the sink's reading more than the clients)."""
    rows = {k: v for k, v in rows.items() if "cpu_us_per_msg" in v}
    if not rows:
        return []
    med = {k: v["cpu_us_per_msg"]["median"] for k, v in rows.items()}
    best = _best_peer(med, False)
    out = ["### " + title, "",
           "| | client CPU (µs/msg) | spread (min–max) | vs best peer%s | sink busy |" % (
               " (%s)" % best if best else ""),
           "| --- | ---: | ---: | ---: | ---: |"]
    for name in sorted(med, key=med.get):
        v = rows[name]["cpu_us_per_msg"]
        busy = rows[name].get("sink_busy")
        out.append("| %s | %.2f | %.2f–%.2f | %s | %s |" % (
            name, v["median"], v["min"], v["max"],
            "%.2f×" % (med[name] / med[best]) if best and med[best] else "–",
            "%.0f %%" % (100 * busy["median"]) if busy else "–"))
    return out + [""]


def memory_table(levels: Dict[str, Dict[str, dict]]) -> List[str]:
    out = ["### Server RSS per idle connection", "",
           "| server | connections | RSS before → after (MiB) | bytes / connection | vs best peer |",
           "| --- | ---: | ---: | ---: | ---: |"]
    for level, rows in levels.items():
        per = {k: v["bytes_per_conn"] for k, v in rows.items() if v.get("bytes_per_conn")}
        best = _best_peer(per, higher_better=False)
        for name in sorted(per, key=per.get):
            v = rows[name]
            out.append("| %s | %d (target %s) | %.1f → %.1f | %s | %s |" % (
                name, v["connections"], level, v["rss_before"] / 2**20, v["rss_after"] / 2**20,
                "{:,.0f}".format(per[name]),
                "%.2f×" % (per[name] / per[best]) if best else "–"))
    return out + [""]


def storm_table(s: dict) -> List[str]:
    if not s:
        return []
    return ["### Reconnect storm (managedws clients on one context, `server_bench` restarted)", "",
            "| clients | back after restart | seconds | spread window | accepts/100 ms peak | mean | peak/mean |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            "| %d | %d | %.2f | %d ms | %d | %.1f | %s |" % (
                s["connected"], s["reconnected"], s["seconds"], s["spread_ms"], s["peak"],
                s["mean"], "%.2f" % s["peak_over_mean"] if s["peak_over_mean"] else "–"), ""] + (
            ["Times from the stop of the first server: the new one listened at %s ms, first "
             "accept %s ms, last by %s ms; the mean is over first accept .. max(last accept, "
             "end of the window); peak/mean only when every client came back. %d attempts "
             "failed: %s." % (
                 s.get("listen_ms"), s.get("first_accept_ms"), s.get("last_accept_ms"),
                 s.get("failed_attempts", 0),
                 "; ".join("%d %s" % (w["attempts"], w["reason"])
                           for w in s.get("failed_why", [])) or "none"), ""]
            if "listen_ms" in s else []) + (
            ["Load average (1 min) when the storm began and ended: %.2f, %.2f (the machine "
             "is shared)." % (s["load_before"], s["load_after"]), ""]
            if "load_before" in s else []) + (
            ["The last clients back (ms from READY; each drop as t:wait:reason):", ""] +
            ["    " + l for l in s["late_clients"][:3]] + [""]
            if s.get("late_clients") else [])


def markdown(res: dict) -> str:
    m = res["meta"]
    lines = ["# managedws benchmark, %s%s" % (m["date"], " (quick)" if m["quick"] else ""), "",
             "Machine: %s, %d CPUs; servers pinned to CPU %s, clients to CPU %s; %d run(s) per "
             "figure, median and spread (min–max). %s" % (
                 m["machine"], m["cpus"], m["server_cpu"], m["client_cpu"], m["runs"],
                 m.get("note", "")), "",
             "Counts: %s" % ", ".join("%s=%s" % kv for kv in m["counts"].items()), ""]
    for n in m.get("notes", []):
        lines.append("- " + n)
    lines.append("")
    lines += summary_table(res)
    for key, title in (("client_tput", "Client throughput"), ("binding_tput", "Binding throughput")):
        for label, rows in res.get(key, {}).items():
            lines += table("%s, %s" % (title, label), "msg/s", rows, None, True)
            lines += cpu_table("%s, %s: CPU per message" % (title, label), rows)
    for label, rows in res.get("server_sink", {}).items():
        lines += table("Server sink, %s" % label, "msg/s", rows, None, True)
    for label, rows in res.get("client_rtt", {}).items():
        lines += table("Client round trip p50, %s" % label, "µs", rows, "p50_us", False)
        lines += table("Client round trip p99, %s" % label, "µs", rows, "p99_us", False)
    for label, rows in res.get("server_rtt", {}).items():
        lines += table("Server echo round trip p50, %s" % label, "µs", rows, "p50_us", False)
        lines += table("Server echo round trip p99, %s" % label, "µs", rows, "p99_us", False)
    if res.get("idle_memory"):
        lines += memory_table(res["idle_memory"])
    lines += storm_table(res.get("storm"))
    if res.get("errors"):
        lines += ["### Errors", ""] + ["- " + e for e in res["errors"]] + [""]
    return "\n".join(lines)
