"""Dashboard arithmetic, pure: the desk's local day windows and the day-by-day series."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field


class Counts(BaseModel):
    open: int = Field(description="Tickets in the open category.")
    pending: int
    overdue: int = Field(description="Open or pending tickets late on their SLA.")
    due_today: int = Field(
        description="Open or pending tickets whose planned resolution falls on today's date "
        "in the desk's timezone."
    )
    unassigned: int = Field(description="Open or pending tickets with no agent and no group.")


class DayPoint(BaseModel):
    day: date
    created: int
    resolved: int


class AgentTimes(BaseModel):
    agent_id: int
    agent_name: str
    first_responses: int = Field(description="Tickets with a first response in the period.")
    avg_first_response_seconds: float | None
    resolved: int = Field(description="Tickets resolved in the period (still resolved/closed).")
    avg_resolution_seconds: float | None = Field(
        description="Time spent Open only (statuses.py), averaged over the resolved tickets."
    )


class Dashboard(BaseModel):
    timezone: str
    days: int
    since: datetime = Field(description="Start of the period (local midnight, as UTC).")
    counts: Counts
    created_vs_resolved: list[DayPoint]
    agents: list[AgentTimes]


def day_window(today: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the local calendar day ``today``, in UTC (DST days are 23 or 25
    hours long; UTC keeps Python's arithmetic on them exact)."""
    start = datetime.combine(today, time(), tzinfo=zone)
    end = datetime.combine(today + timedelta(days=1), time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def period_days(now: datetime, zone: ZoneInfo, days: int) -> list[date]:
    """The last ``days`` local dates, oldest first, ending with today."""
    today = now.astimezone(zone).date()
    return [today - timedelta(days=n) for n in range(days - 1, -1, -1)]


def series(
    days: list[date], created: Mapping[date, int], resolved: Mapping[date, int]
) -> list[DayPoint]:
    """One point per day, zero where nothing happened."""
    return [DayPoint(day=d, created=created.get(d, 0), resolved=resolved.get(d, 0)) for d in days]
