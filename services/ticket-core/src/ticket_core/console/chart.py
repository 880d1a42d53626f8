"""The dashboard's created-vs-resolved chart as SVG geometry (pure): one pair of bars per
local day, a y axis with round ticks, day labels thinned to fit. The template draws it
inline (no script, no chart library) next to a table with the same figures."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ..dashboard import DayPoint

WIDTH, HEIGHT = 720.0, 240.0
LEFT, RIGHT, TOP, BOTTOM = 40.0, 8.0, 12.0, 28.0
SERIES = ("created", "resolved")
MAX_DAY_LABELS = 14


@dataclass(frozen=True)
class Bar:
    day: date
    series: str
    value: int
    x: float
    y: float
    width: float
    height: float

    @property
    def label(self) -> str:
        return f"{self.day:%d %b}: {self.value} {self.series}"


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class DayLabel:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[DayLabel]
    baseline: float
    left: float
    right: float
    total_created: int
    total_resolved: int


def nice_ceiling(value: int) -> int:
    """The smallest 1/2/5 x 10^n at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1
    magnitude: int = 10 ** len(str(value - 1)) // 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def bar_chart(points: Sequence[DayPoint]) -> Chart:
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    top_value = nice_ceiling(max([max(p.created, p.resolved) for p in points] or [0]))
    slot = plot_width / max(len(points), 1)
    bar_width = slot * 0.38
    bars: list[Bar] = []
    labels: list[DayLabel] = []
    every = max(1, math.ceil(len(points) / MAX_DAY_LABELS))
    for index, point in enumerate(points):
        start = LEFT + index * slot + slot * 0.12
        for offset, series in enumerate(SERIES):
            value = point.created if series == "created" else point.resolved
            height = plot_height * value / top_value
            bars.append(
                Bar(
                    day=point.day,
                    series=series,
                    value=value,
                    x=round(start + offset * bar_width, 2),
                    y=round(baseline - height, 2),
                    width=round(bar_width, 2),
                    height=round(height, 2),
                )
            )
        last = index == len(points) - 1
        if index % every == 0 or last:
            labels.append(DayLabel(round(LEFT + (index + 0.5) * slot, 2), f"{point.day:%d.%m}"))
    halves = sorted({0, top_value // 2, top_value}) if top_value > 1 else [0, 1]
    ticks = [Tick(round(baseline - plot_height * v / top_value, 2), v) for v in halves]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        ticks=ticks,
        labels=labels,
        baseline=baseline,
        left=LEFT,
        right=WIDTH - RIGHT,
        total_created=sum(p.created for p in points),
        total_resolved=sum(p.resolved for p in points),
    )
