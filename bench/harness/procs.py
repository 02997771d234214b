"""Processes the bench starts: each one pinned, tracked, and stopped at exit."""
from __future__ import annotations

import signal
import subprocess
import time
from typing import List, Optional

SERVER_CPU = "0"
CLIENT_CPU = "1"

_started: List[subprocess.Popen] = []


def start(cmd: List[str], cpu: Optional[str], **kw) -> subprocess.Popen:
    """Starts cmd (pinned to cpu with taskset unless None); stopped by stop_all()."""
    full = (["taskset", "-c", cpu] if cpu is not None else []) + cmd
    p = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True, **kw)
    _started.append(p)
    return p


def read_line(p: subprocess.Popen, prefix: str, timeout: float) -> str:
    """The first stdout line starting with prefix, within timeout seconds."""
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    until = time.monotonic() + timeout
    try:
        while time.monotonic() < until:
            if not sel.select(timeout=max(0.0, until - time.monotonic())):
                break
            line = p.stdout.readline()
            if not line:
                break
            if line.startswith(prefix):
                return line.strip()
    finally:
        sel.close()
    raise RuntimeError("no %r line from %s within %.0f s" % (prefix, p.args, timeout))


def stop(p: subprocess.Popen, timeout: float = 10.0) -> Optional[int]:
    """SIGTERM, then SIGKILL after timeout; returns the exit status."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    if p in _started:
        _started.remove(p)
    return p.returncode


def stop_all() -> None:
    for p in list(_started):
        try:
            stop(p, 3.0)
        except Exception:
            pass


def run_client(cmd: List[str], timeout: float) -> str:
    """Runs a client pinned to the client CPU; its last stdout line."""
    p = start(cmd, CLIENT_CPU)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(p, 1.0)
        raise RuntimeError("client timed out: %s" % " ".join(cmd))
    _started.remove(p)
    lines = [l for l in out.splitlines() if l.strip()]
    if p.returncode != 0 or not lines:
        raise RuntimeError("client failed (%s): %s" % (p.returncode, " ".join(cmd)))
    return lines[-1]


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS for %d" % pid)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) a live process used so far,
    from /proc (clock ticks: 10 ms resolution at 100 Hz)."""
    import os
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raise_fd_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit (children inherit it)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def exit_on_signal() -> None:
    """SIGTERM/SIGINT/SIGHUP end the run through the normal cleanup."""
    def handler(signo, _frame):
        raise SystemExit(128 + signo)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, handler)


__all__ = ["start", "read_line", "stop", "stop_all", "run_client", "rss_bytes",
           "cpu_seconds", "raise_fd_limit", "exit_on_signal", "SERVER_CPU", "CLIENT_CPU"]
