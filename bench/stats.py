"""Latency arithmetic shared by the HTTP and end-to-end benchmarks.

- ``percentile``: nearest rank (the smallest sample with at least ``q`` of the samples at
  or below it), so a p99 is always a latency some request really had.
- ``PacedSchedule``: the open-loop send plan. Request ``i`` is due at ``start + i / rate``
  whatever happened to the requests before it; a request sent late (the driver or a
  connection was busy) still counts its latency from the time it was *due*. That is what
  keeps coordinated omission from hiding queueing: a stall of the server delays every
  request scheduled during it, and each of them reports the wait.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values; ``q`` in [0, 1]."""
    if not sorted_values:
        raise ValueError("percentile of no samples")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be within [0, 1], not {q}")
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def summary_ms(values: Iterable[float]) -> dict[str, float]:
    """n, mean, p50, p95, p99, p99.9 and max of latencies given in milliseconds."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    return {
        "n": len(ordered),
        "mean_ms": sum(ordered) / len(ordered),
        "p50_ms": percentile(ordered, 0.50),
        "p95_ms": percentile(ordered, 0.95),
        "p99_ms": percentile(ordered, 0.99),
        "p999_ms": percentile(ordered, 0.999),
        "max_ms": ordered[-1],
    }


def per_second(samples: Iterable[tuple[float, float]], origin: float) -> list[dict[str, float]]:
    """(time, latency ms) samples grouped by the second since ``origin`` they fall in."""
    buckets: dict[int, list[float]] = {}
    for at, latency in samples:
        buckets.setdefault(int(at - origin), []).append(latency)
    out = []
    for second in sorted(buckets):
        ordered = sorted(buckets[second])
        out.append(
            {
                "second": second,
                "n": len(ordered),
                "p50_ms": percentile(ordered, 0.5),
                "p99_ms": percentile(ordered, 0.99),
                "max_ms": ordered[-1],
            }
        )
    return out


@dataclass
class PacedSchedule:
    """Open-loop plan of ``total`` sends at ``rate`` per second from ``start``."""

    start: float
    rate: float
    total: int
    next_index: int = 0

    def due_at(self, index: int) -> float:
        return self.start + index / self.rate

    def take_due(self, now: float) -> range:
        """Every request due by ``now`` that was not taken yet: none is skipped, however
        late the caller is, so overdue requests go out at once and report their wait."""
        first = self.next_index
        if first >= self.total:
            return range(first, first)
        last = min(self.total, math.floor((now - self.start) * self.rate) + 1)
        self.next_index = max(first, last)
        return range(first, self.next_index)

    @property
    def done(self) -> bool:
        return self.next_index >= self.total

    def seconds_to_next(self, now: float) -> float:
        return max(0.0, self.due_at(self.next_index) - now)
