"""What the dashboard page prints, pure: the count tiles with their inbox links, the
report range from the query string, durations as text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from ..dashboard import Counts, day_window
from .forms import PREFIX, ConsoleError
from .inbox_repo import CATEGORIES

__all__ = ["CATEGORIES", "ReportRange", "chart_days", "duration_text", "report_range", "tiles"]

DEFAULT_DAYS = 14
DEFAULT_REPORT_DAYS = 30
_EARLIEST, _LATEST = date(1970, 1, 1), date(2999, 12, 31)

# (field of Counts, label, inbox query). The inbox has no "due today" filter: that tile
# opens the inbox sorted by SLA due time.
TILES: tuple[tuple[str, str, str], ...] = (
    ("open", "Open", "status=open"),
    ("overdue", "Overdue", "overdue=1"),
    ("pending", "Pending", "pending=1"),
    ("due_today", "Due today", "sort=due"),
    ("unassigned", "Unassigned", "unassigned=1"),
)


def tiles(counts: Counts) -> list[dict[str, Any]]:
    return [
        {"key": key, "label": label, "value": getattr(counts, key), "href": f"{PREFIX}/?{query}"}
        for key, label, query in TILES
    ]


def chart_days(params: Mapping[str, str]) -> int:
    raw = (params.get("days") or "").strip()
    if not raw:
        return DEFAULT_DAYS
    if not raw.isdigit() or not 1 <= int(raw) <= 366:
        raise ConsoleError(status_code=422, detail="days must be a whole number from 1 to 366")
    return int(raw)


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{int(seconds)}s"
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins:02d}m"
    return f"{mins}m"


@dataclass(frozen=True)
class ReportRange:
    start: date
    end: date  # inclusive
    status: str | None

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[local midnight of start, local midnight after end) in UTC."""
        return day_window(self.start, zone)[0], day_window(self.end, zone)[1]

    def query(self) -> str:
        values = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.status:
            values["status"] = self.status
        return urlencode(values)


def _date(params: Mapping[str, str], name: str, default: date) -> date:
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = date.fromisoformat(raw)
    except ValueError as exc:
        raise ConsoleError(status_code=422, detail=f"{name}: not a date (YYYY-MM-DD)") from exc
    if not _EARLIEST <= value <= _LATEST:
        raise ConsoleError(status_code=422, detail=f"{name}: out of range")
    return value


def report_range(params: Mapping[str, str], today: date) -> ReportRange:
    end = _date(params, "to", today)
    start = _date(params, "from", end - timedelta(days=DEFAULT_REPORT_DAYS - 1))
    if start > end:
        raise ConsoleError(status_code=422, detail="the report range ends before it starts")
    status = (params.get("status") or "").strip() or None
    if status is not None and status not in CATEGORIES:
        raise ConsoleError(status_code=422, detail="unknown status")
    return ReportRange(start, end, status)
