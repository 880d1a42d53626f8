"""SLA rules and policies: which targets a ticket gets, its due times, pauses, status.

Rules are evaluated top-down; the first *enabled* rule whose conditions all match gives
the :class:`Policy` (calendar, reaction target, resolution target). An empty condition
matches anything; a non-empty one needs the ticket fact to be one of its values.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .calendar import ServiceCalendar
from .hours import CalendarError, to_utc
from .reaction import ActivityKind, ActorKind, TicketActivity, first_reaction_at

SlaStatus = Literal["ok", "warning", "breached"]
_ZERO = timedelta(0)
_ALL_DAYS: frozenset[int] = frozenset(range(7))


@dataclass(frozen=True)
class TimeWindow:
    """Registration time window on the local wall clock.

    ``weekdays`` (0 = Monday) are the days the window *starts* on. ``end == time(0)``
    means 24:00; ``start == end`` is the whole day. ``start > end`` wraps past midnight:
    ``22:00-06:00`` on Friday covers Friday 22:00 to Saturday 06:00. ``timezone=None``
    uses the timezone of the rule's calendar.
    """

    weekdays: Collection[int] = _ALL_DAYS
    start: time = time(0)
    end: time = time(0)
    timezone: str | None = None

    def __post_init__(self) -> None:
        days = frozenset(self.weekdays)
        if not days <= _ALL_DAYS:
            raise CalendarError(f"weekdays are 0 (Monday) .. 6 (Sunday), got {sorted(days)}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise CalendarError("time window bounds are local wall-clock times")
        if self.timezone is not None:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise CalendarError(f"unknown IANA timezone {self.timezone!r}") from exc
        object.__setattr__(self, "weekdays", days)

    @classmethod
    def weekends(cls, timezone: str | None = None) -> TimeWindow:
        return cls(frozenset({5, 6}), timezone=timezone)

    def contains(self, moment: datetime, default_timezone: str) -> bool:
        local = to_utc(moment, "moment").astimezone(ZoneInfo(self.timezone or default_timezone))
        wall, weekday = local.time().replace(tzinfo=None), local.weekday()
        previous_day = (weekday - 1) % 7
        if self.start == self.end:
            return weekday in self.weekdays
        if self.end == time(0) or self.start < self.end:
            return (
                weekday in self.weekdays
                and self.start <= wall
                and (self.end == time(0) or wall < self.end)
            )
        # wraps past midnight
        return (weekday in self.weekdays and wall >= self.start) or (
            previous_day in self.weekdays and wall < self.end
        )


@dataclass(frozen=True)
class TicketFacts:
    """What SLA rules look at. ``company_id`` is the client."""

    registered_at: datetime
    ticket_type: str | None = None
    priority: str | None = None
    client_category: str | None = None
    company_id: int | str | None = None


@dataclass(frozen=True)
class Policy:
    """Targets are durations of *working time* on ``calendar``."""

    name: str
    calendar: ServiceCalendar
    reaction: timedelta
    resolution: timedelta

    def __post_init__(self) -> None:
        if self.reaction < _ZERO or self.resolution < _ZERO:
            raise ValueError(f"SLA targets must not be negative: {self.name}")


@dataclass(frozen=True)
class SlaRule:
    policy: Policy
    name: str = ""
    enabled: bool = True
    ticket_types: Collection[str] = frozenset()
    priorities: Collection[str] = frozenset()
    client_categories: Collection[str] = frozenset()
    company_ids: Collection[int | str] = frozenset()
    registered_within: tuple[TimeWindow, ...] = ()  # any of them; empty = any time

    def __post_init__(self) -> None:
        for name in ("ticket_types", "priorities", "client_categories", "company_ids"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))

    def matches(self, facts: TicketFacts) -> bool:
        def allowed(values: Collection[object], fact: object) -> bool:
            return not values or (fact is not None and fact in values)

        if not (
            allowed(self.ticket_types, facts.ticket_type)
            and allowed(self.priorities, facts.priority)
            and allowed(self.client_categories, facts.client_category)
            and allowed(self.company_ids, facts.company_id)
        ):
            return False
        tz = self.policy.calendar.timezone
        return not self.registered_within or any(
            w.contains(facts.registered_at, tz) for w in self.registered_within
        )


class SlaPlan(NamedTuple):
    reaction_due: datetime
    resolution_due: datetime


def match_rule(rules: Iterable[SlaRule], facts: TicketFacts) -> SlaRule | None:
    """The first enabled rule matching ``facts``, or ``None``."""
    return next((r for r in rules if r.enabled and r.matches(facts)), None)


def match_policy(rules: Iterable[SlaRule], facts: TicketFacts) -> Policy | None:
    """The policy of the first enabled rule matching ``facts``, or ``None``."""
    rule = match_rule(rules, facts)
    return rule.policy if rule is not None else None


def plan(policy: Policy, registered_at: datetime) -> SlaPlan:
    """Reaction and resolution due times (UTC) for a ticket registered at ``registered_at``."""
    cal = policy.calendar
    return SlaPlan(
        cal.add_working_time(registered_at, policy.reaction),
        cal.add_working_time(registered_at, policy.resolution),
    )


def remaining_working_time(policy: Policy, due: datetime, at: datetime) -> timedelta:
    """Working time left until ``due`` at ``at`` (negative once overdue)."""
    return policy.calendar.working_time_between(at, due)


def resume(
    policy: Policy, resolution_due: datetime, paused_at: datetime, resumed_at: datetime
) -> datetime:
    """The resolution due time after a pause (Pending) from ``paused_at`` to ``resumed_at``.

    The working time that remained at the pause is re-added from ``resumed_at``. Rules:
    a due already reached at the pause stays as it was (a pause does not undo a breach);
    a pause never moves the due earlier (this only matters for a hand-set due in
    non-working time with no working time lost during the pause). Returns UTC.
    """
    due, paused, resumed = (
        to_utc(resolution_due, "resolution_due"),
        to_utc(paused_at, "paused_at"),
        to_utc(resumed_at, "resumed_at"),
    )
    if resumed < paused:
        raise ValueError(f"resumed_at {resumed} is before paused_at {paused}")
    if paused >= due:
        return due
    remaining = policy.calendar.working_time_between(paused, due)
    return max(due, policy.calendar.add_working_time(resumed, remaining))


def status_at(now: datetime, due: datetime, warn_before: timedelta) -> SlaStatus:
    """``"breached"`` from ``due`` on, ``"warning"`` from ``due - warn_before`` (wall-clock
    time) on, else ``"ok"``."""
    if warn_before < _ZERO:
        raise ValueError(f"warn_before must not be negative, got {warn_before}")
    t, d = to_utc(now, "now"), to_utc(due, "due")
    if t >= d:
        return "breached"
    return "warning" if t >= d - warn_before else "ok"


__all__ = [
    "ActivityKind",
    "ActorKind",
    "Policy",
    "SlaPlan",
    "SlaRule",
    "SlaStatus",
    "TicketActivity",
    "TicketFacts",
    "TimeWindow",
    "first_reaction_at",
    "match_policy",
    "match_rule",
    "plan",
    "remaining_working_time",
    "resume",
    "status_at",
]
