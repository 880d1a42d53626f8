"""SLA on tickets, pure: the rules as loaded from the database, the planned times of a new
ticket, what a status move or a hand-set time does to them, and which SLA timers are due.

Columns (``SLA_COLUMNS``, migration 0005): ``sla_rule_id`` (the rule that matched at
registration), ``sla_warning_seconds`` (its warning lead), per target (``reaction``,
``resolution``) ``<target>_due_at`` (planned time), ``<target>_warn_at`` (= due - lead;
null without a lead), ``<target>_warned_at`` / ``<target>_breached_at`` (when that timer
fired: each fires once), and the pause bookkeeping ``sla_paused_at`` (start of the
current Pending span that pauses the resolution clock) and ``sla_paused_seconds`` (wall
time paused so far).

Rules of the clocks:

* Reaction is met once ``first_response_at`` is set (first public agent reply or first
  status change by an agent; see ``replies.py`` and ``workflow.py``). A met reaction never
  warns nor breaches.
* Resolution counts only while the ticket is Open: Pending pauses it (no timer fires
  meanwhile), and on leaving Pending the planned resolution is moved by the working time
  the pause took (``ticket_core.sla.resume``: the working time left at the pause is
  re-added from the resume). Resolved and Closed tickets never warn nor breach.
* A breach that is due suppresses a warning not yet sent (it is marked, not announced).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from .models import TicketStatus as Category
from .sla import (
    CalendarError,
    NoWorkingTimeError,
    Policy,
    ServiceCalendar,
    SlaRule,
    TicketFacts,
    TimeWindow,
    plan,
    resume,
)
from .sla.hours import ExceptionDay, normalize_hours

Target = Literal["reaction", "resolution"]
TARGETS: tuple[Target, ...] = ("reaction", "resolution")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EXCEPTION_KINDS = ("holiday", "shortened", "working")
SLA_COLUMNS = (
    "sla_rule_id",
    "sla_warning_seconds",
    "reaction_due_at",
    "reaction_warn_at",
    "reaction_warned_at",
    "reaction_breached_at",
    "resolution_due_at",
    "resolution_warn_at",
    "resolution_warned_at",
    "resolution_breached_at",
    "sla_paused_at",
    "sla_paused_seconds",
)
# What a status move may change (ingestion writes these with the status columns).
MOVE_COLUMNS = ("resolution_due_at", "resolution_warn_at", "sla_paused_at", "sla_paused_seconds")
# The SLA fields the audit trail records when they change (the timers' markers get their
# own audit rows, see sla_timers.py).
AUDITED_SLA = ("sla_rule_id", "reaction_due_at", "resolution_due_at")
_ALWAYS = ServiceCalendar.always_open()


# -- definitions from the database ----------------------------------------------------------


def calendar_from(
    timezone: str, working_hours: Mapping[str, str], exception_days: Sequence[Mapping[str, Any]]
) -> ServiceCalendar:
    """A calendar from its stored (or posted) form; raises ``CalendarError`` with the reason."""
    unknown = set(working_hours) - set(WEEKDAYS)
    if unknown:
        raise CalendarError(f"unknown weekday(s) {sorted(unknown)}: use {', '.join(WEEKDAYS)}")
    weekly = tuple(normalize_hours(working_hours.get(day, "")) for day in WEEKDAYS)
    exceptions = []
    for entry in exception_days:
        kind, hours = entry.get("kind"), entry.get("hours") or ""
        day = entry.get("date")
        when = day if isinstance(day, date) else _date(str(day))
        if kind not in EXCEPTION_KINDS:
            raise CalendarError(f"{when}: kind must be one of {', '.join(EXCEPTION_KINDS)}")
        if kind == "holiday" and hours.strip():
            raise CalendarError(f"{when}: a holiday has no working hours")
        parsed = normalize_hours(hours)
        if kind != "holiday" and not parsed:
            raise CalendarError(f"{when}: a {kind} day needs its working hours")
        exceptions.append(ExceptionDay(when, parsed))
    return ServiceCalendar(timezone, weekly, tuple(exceptions))


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CalendarError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _clock(text: str) -> time:
    if text.strip() == "24:00":
        return time(0)
    try:
        return time.fromisoformat(text.strip())
    except ValueError as exc:
        raise CalendarError(f"not a clock time (HH:MM): {text!r}") from exc


def window_from(entry: Mapping[str, Any]) -> TimeWindow:
    """A registration time window from ``{"weekdays", "start", "end", "timezone"}``."""
    return TimeWindow(
        weekdays=frozenset(entry.get("weekdays", range(7))),
        start=_clock(str(entry.get("start", "00:00"))),
        end=_clock(str(entry.get("end", "00:00"))),
        timezone=entry.get("timezone"),
    )


@dataclass(frozen=True)
class LoadedRule:
    id: int
    rule: SlaRule
    warning_seconds: int

    @property
    def policy(self) -> Policy:
        return self.rule.policy


def rule_from(row: Mapping[str, Any], calendar: ServiceCalendar) -> LoadedRule:
    """A rule row (``sla_rules``) on its calendar. Conditions compare ids as strings (types,
    priorities, categories) and integers (companies)."""
    policy = Policy(
        str(row["name"]),
        calendar,
        reaction=timedelta(minutes=int(row["reaction_minutes"])),
        resolution=timedelta(minutes=int(row["resolution_minutes"])),
    )
    rule = SlaRule(
        policy,
        name=str(row["name"]),
        enabled=bool(row["enabled"]),
        ticket_types={str(i) for i in row["ticket_type_ids"]},
        priorities={str(i) for i in row["priority_ids"]},
        client_categories={str(i) for i in row["company_category_ids"]},
        company_ids={int(i) for i in row["company_ids"]},
        registered_within=tuple(window_from(w) for w in row["registered_within"]),
    )
    return LoadedRule(int(row["id"]), rule, int(row["warning_minutes"]) * 60)


@dataclass(frozen=True)
class SlaConfig:
    """Every rule (enabled or not, in evaluation order) with its calendar."""

    rules: tuple[LoadedRule, ...] = ()
    by_id: dict[int, LoadedRule] = field(default_factory=dict)

    @classmethod
    def of(cls, rules: Iterable[LoadedRule]) -> SlaConfig:
        ordered = tuple(rules)
        return cls(ordered, {r.id: r for r in ordered})

    @property
    def has_enabled(self) -> bool:
        return any(r.rule.enabled for r in self.rules)

    @property
    def wants_categories(self) -> bool:
        return any(r.rule.enabled and r.rule.client_categories for r in self.rules)

    def match(self, facts: TicketFacts) -> LoadedRule | None:
        return next((r for r in self.rules if r.rule.enabled and r.rule.matches(facts)), None)

    def calendar_of(self, rule_id: int | None) -> ServiceCalendar:
        """The calendar of a ticket's rule (enabled or not); 24/7 when the rule is gone."""
        loaded = self.by_id.get(rule_id) if rule_id is not None else None
        return loaded.policy.calendar if loaded else _ALWAYS


def facts_of(ticket: Mapping[str, Any], category_id: int | None) -> TicketFacts:
    def text(value: Any) -> str | None:
        return str(value) if value is not None else None

    return TicketFacts(
        registered_at=ticket["created_at"],
        ticket_type=text(ticket.get("type_id")),
        priority=text(ticket.get("priority_id")),
        client_category=text(category_id),
        company_id=ticket.get("company_id"),
    )


# -- planned times ----------------------------------------------------------------------------


def warn_at(due: datetime | None, lead_seconds: int | None) -> datetime | None:
    if due is None or not lead_seconds:
        return None
    return due - timedelta(seconds=lead_seconds)


def no_sla() -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(SLA_COLUMNS)
    values["sla_paused_seconds"] = 0.0
    return values


def planned(config: SlaConfig, facts: TicketFacts) -> dict[str, Any]:
    """Every SLA column of a ticket registered with ``facts`` (no SLA when no rule matches,
    or when the rule's calendar has no working time left)."""
    values = no_sla()
    loaded = config.match(facts)
    if loaded is None:
        return values
    try:
        reaction, resolution = plan(loaded.policy, facts.registered_at)
    except NoWorkingTimeError:
        return values
    lead = loaded.warning_seconds or None
    values.update(
        sla_rule_id=loaded.id,
        sla_warning_seconds=lead,
        reaction_due_at=reaction,
        reaction_warn_at=warn_at(reaction, lead),
        resolution_due_at=resolution,
        resolution_warn_at=warn_at(resolution, lead),
    )
    return values


def after_status_move(
    config: SlaConfig, previous_status: str, ticket: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """SLA columns that change when ``ticket`` (its new status, its SLA columns as they
    were) moved from ``previous_status``: entering Pending pauses the resolution clock,
    leaving it moves the planned resolution by the working time of the pause."""
    new = ticket["status"]
    if new == previous_status:
        return {}
    values: dict[str, Any] = {}
    if new == Category.PENDING and ticket.get("resolution_due_at") is not None:
        values["sla_paused_at"] = now
    paused = ticket.get("sla_paused_at")
    if previous_status == Category.PENDING and paused is not None:
        values["sla_paused_at"] = None
        values["sla_paused_seconds"] = float(ticket.get("sla_paused_seconds") or 0.0) + max(
            0.0, (now - paused).total_seconds()
        )
        due = ticket.get("resolution_due_at")
        if due is not None:
            calendar = config.calendar_of(ticket.get("sla_rule_id"))
            zero = timedelta(0)
            try:
                moved = resume(
                    Policy("resume", calendar, zero, zero), due, paused, max(now, paused)
                )
            except NoWorkingTimeError:
                moved = due
            if moved != due:
                values["resolution_due_at"] = moved
                values["resolution_warn_at"] = warn_at(moved, ticket.get("sla_warning_seconds"))
    return values


def hand_set(
    ticket: Mapping[str, Any], dues: Mapping[Target, datetime | None], now: datetime
) -> dict[str, Any]:
    """SLA columns after an agent sets planned times by hand (``None`` clears one). A new
    due time re-arms its warning and breach; set during Pending, the pause restarts now."""
    values: dict[str, Any] = {}
    for target, due in dues.items():
        if due == ticket.get(f"{target}_due_at"):
            continue
        values[f"{target}_due_at"] = due
        values[f"{target}_warn_at"] = warn_at(due, ticket.get("sla_warning_seconds"))
        values[f"{target}_warned_at"] = None
        values[f"{target}_breached_at"] = None
        if target == "resolution" and ticket.get("status") == Category.PENDING:
            values["sla_paused_at"] = now if due is not None else None
    return values


# -- timers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Firing:
    """One SLA timer to announce: a warning (``breach`` false) or a breach of ``target``."""

    target: Target
    breach: bool
    due_at: datetime


def clock_running(ticket: Mapping[str, Any], target: Target) -> bool:
    if target == "reaction":
        return ticket.get("first_response_at") is None
    return ticket.get("status") == Category.OPEN


def due_firings(
    ticket: Mapping[str, Any], now: datetime
) -> tuple[list[Firing], dict[str, datetime]]:
    """What fires for ``ticket`` at ``now``: the firings to announce and the marker columns
    to set. Each timer fires once (its marker is set); a due breach marks an unsent
    warning without announcing it."""
    firings: list[Firing] = []
    markers: dict[str, datetime] = {}
    for target in TARGETS:
        due = ticket.get(f"{target}_due_at")
        if due is None or not clock_running(ticket, target):
            continue
        warned = ticket.get(f"{target}_warned_at") is not None
        if ticket.get(f"{target}_breached_at") is None and due <= now:
            firings.append(Firing(target, True, due))
            markers[f"{target}_breached_at"] = now
            if not warned:
                markers[f"{target}_warned_at"] = now
            continue
        warn = ticket.get(f"{target}_warn_at")
        if not warned and warn is not None and warn <= now:
            markers[f"{target}_warned_at"] = now
            if due > now:
                firings.append(Firing(target, False, due))
    return firings, markers


def reaction_met(ticket: Mapping[str, Any]) -> bool | None:
    """Whether the reaction came by its planned time (None: no target, or no reaction yet
    and not yet late)."""
    due, reacted = ticket.get("reaction_due_at"), ticket.get("first_response_at")
    if due is None:
        return None
    if reacted is not None:
        return bool(reacted <= due)
    return False if ticket.get("reaction_breached_at") is not None else None
