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


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, user CPU seconds, system CPU seconds) of a process, or None if gone."""
    text = _read(f"/proc/{pid}/stat")
    if not text:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # after "pid (comm) "
    ppid, utime, stime = int(fields[1]), int(fields[11]), int(fields[12])
    return ppid, utime / _CLK_TCK, stime / _CLK_TCK


def cpu_seconds(root_pid: int, *, with_children: bool = False, system_only: bool = False) -> float:
    """CPU seconds (user + system, or system only) of a live process and, optionally, of its
    direct children (PostgreSQL's backends under the postmaster). Exited ones are not counted."""

    def used(stat: tuple[int, float, float] | None) -> float:
        if stat is None:
            return 0.0
        return stat[2] if system_only else stat[1] + stat[2]

    total = used(_stat(root_pid))
    if with_children:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                stat = _stat(int(entry))
                if stat and stat[0] == root_pid:
                    total += used(stat)
    return total


def self_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system
