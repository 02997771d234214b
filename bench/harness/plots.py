"""PNG plots of a run (matplotlib, Agg): throughput bars, latency
percentiles, bytes per connection, reconnect storm."""
from __future__ import annotations

from typing import Dict, List

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OURS_COLOR, PEER_COLOR = "#d95f02", "#7570b3"
FLOOR_COLOR = "#aaaaaa"  # the round-trip floor probe: a reference, not a peer


def _color(name: str) -> str:
    if name.startswith("floor"):
        return FLOOR_COLOR
    return OURS_COLOR if name.startswith("managedws") else PEER_COLOR


def _bars(ax, rows: Dict[str, dict], key, title: str, unit: str, higher_better: bool) -> None:
    names = sorted(rows, key=lambda k: (rows[k][key] if key else rows[k])["median"],
                   reverse=higher_better)
    med = [(rows[n][key] if key else rows[n])["median"] for n in names]
    lo = [m - (rows[n][key] if key else rows[n])["min"] for n, m in zip(names, med)]
    hi = [(rows[n][key] if key else rows[n])["max"] - m for n, m in zip(names, med)]
    ax.barh(names, med, xerr=[lo, hi], color=[_color(n) for n in names], capsize=3)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(unit, fontsize=8)
    ax.tick_params(labelsize=7)


def _grid(panels: List[tuple], path: str, suptitle: str) -> str:
    n = len(panels)
    cols = 2
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(11, 2.6 * rows + 0.6), squeeze=False)
    for ax, (rows_, key, title, unit, hb) in zip(axes.flat, panels):
        _bars(ax, rows_, key, title, unit, hb)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def draw(res: dict, prefix: str) -> List[str]:
    """Writes prefix-throughput.png, -latency.png, -memory.png, -storm.png."""
    made = []
    sub = "(%s; whiskers: min–max of %d run(s); managedws orange, floor probe grey)" % (
        res["meta"]["date"], res["meta"]["runs"])
    panels = []
    for key, what in (("client_tput", "client"), ("binding_tput", "binding"),
                      ("server_sink", "server sink")):
        for label, rows in res.get(key, {}).items():
            if rows:
                panels.append((rows, None, "%s: %s" % (what, label), "msg/s", True))
    if panels:
        made.append(_grid(panels, prefix + "-throughput.png", "Throughput, higher is better " + sub))
    panels = []
    for key, what in (("client_rtt", "client"), ("server_rtt", "server")):
        for label, rows in res.get(key, {}).items():
            if rows:
                panels.append((rows, "p50_us", "%s round trip p50: %s" % (what, label), "µs", False))
                panels.append((rows, "p99_us", "%s round trip p99: %s" % (what, label), "µs", False))
    if panels:
        made.append(_grid(panels, prefix + "-latency.png", "Round trip, lower is better " + sub))
    mem = res.get("idle_memory") or {}
    if mem:
        levels = list(mem)
        fig, axes = plt.subplots(1, len(levels), figsize=(5.5 * len(levels), 3.2), squeeze=False)
        for ax, level in zip(axes.flat, levels):
            rows = {k: v for k, v in mem[level].items() if v.get("bytes_per_conn")}
            names = sorted(rows, key=lambda k: rows[k]["bytes_per_conn"])
            ax.barh(names, [rows[n]["bytes_per_conn"] for n in names],
                    color=[_color(n) for n in names])
            ax.invert_yaxis()
            ax.set_title("server RSS per idle connection, %s conns" % level, fontsize=9)
            ax.set_xlabel("bytes (RSS delta / connections)", fontsize=8)
            ax.tick_params(labelsize=7)
        fig.suptitle("Memory, lower is better (%s)" % res["meta"]["date"], fontsize=10)
        fig.tight_layout()
        fig.savefig(prefix + "-memory.png", dpi=110)
        plt.close(fig)
        made.append(prefix + "-memory.png")
    s = res.get("storm")
    if s and s.get("accepts_per_100ms"):
        acc = s["accepts_per_100ms"]
        fig, ax = plt.subplots(figsize=(9, 3))
        ax.bar([i * 0.1 for i in range(len(acc))], acc, width=0.1, align="edge", color=OURS_COLOR)
        ax.axhline(s["mean"], color="black", lw=0.8, ls="--", label="mean %.1f" % s["mean"])
        ax.set_xlabel("seconds since the first accept at the restarted server", fontsize=8)
        ax.set_ylabel("accepts per 100 ms", fontsize=8)
        ax.set_title("Reconnect storm: %d clients, spread %d ms; peak %d, peak/mean %.2f" % (
            s["reconnected"], s["spread_ms"], s["peak"], s["peak_over_mean"] or 0), fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(prefix + "-storm.png", dpi=110)
        plt.close(fig)
        made.append(prefix + "-storm.png")
    return made


__all__ = ["draw"]
