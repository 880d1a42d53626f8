"""Facts about the machine a figure was measured on, and CPU time spent by processes.

The machine is shared and noisy: every result is read as a ratio against a baseline
measured in the same run, and these facts say what kind of machine that was.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_gib() -> float:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine_facts() -> dict[str, object]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "nproc": usable,
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gib": memory_gib(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average": load_average(),
    }


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds user+system) of one process, or None if it is gone."""
    text = _read(f"/proc/{pid}/stat")
    if not text:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # after "pid (comm) "
    ppid, utime, stime = int(fields[1]), int(fields[11]), int(fields[12])
    return ppid, (utime + stime) / _CLK_TCK


def cpu_seconds(root_pid: int, *, with_children: bool = False) -> float:
    """CPU seconds of a live process (and, optionally, of its direct children, e.g.
    PostgreSQL's backends under the postmaster). Exited children are not counted."""
    own = _stat(root_pid)
    total = own[1] if own else 0.0
    if with_children:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                stat = _stat(int(entry))
                if stat and stat[0] == root_pid:
                    total += stat[1]
    return total


def self_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system
