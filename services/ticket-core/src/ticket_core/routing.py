"""Routing as plain functions: which rule matches a ticket, who becomes responsible.

The routing table is ordered (position, then id); the first enabled rule whose every
condition holds wins. A condition is a set of allowed values (the ticket's value must be
one of them); a rule without conditions matches every ticket. When no rule matches, the
default chain names the responsible one: the service object's manager, else the
contact's, else the company's (each only if active), else the channel account's default
group. Default observers (settings, company card, contact card) are added in every case.

Distribution inside a group picks among the group's active members, ordered by id:
round-robin takes the member after the group's last pick (wrapping around), least-loaded
the member with the fewest counted tickets (ties: lowest id). ``GroupPicker`` holds the
batch's state, so the tickets of one batch spread like tickets arriving one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Distribution(StrEnum):
    NONE = "none"
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"


class InvalidRule(ValueError):
    """A rule that cannot work (unknown timezone, bad time...): 422 with this text."""


@dataclass(frozen=True)
class TimeWindow:
    """Registration time: ISO weekdays (1 = Monday) and a time of day span in a timezone.
    ``end`` before ``start`` spans midnight (22:00-06:00); the weekday is the local day."""

    weekdays: frozenset[int]
    start: time
    end: time
    timezone: str

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidRule(f"unknown timezone {self.timezone!r}") from exc
        if not self.weekdays or not self.weekdays <= set(range(1, 8)):
            raise InvalidRule("weekdays are 1 (Monday) to 7 (Sunday), at least one")
        if self.start == self.end:
            raise InvalidRule("a time window needs start and end to differ")

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.timezone))
        if local.isoweekday() not in self.weekdays:
            return False
        now = local.time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def to_json(self) -> dict[str, Any]:
        return {
            "weekdays": sorted(self.weekdays),
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "timezone": self.timezone,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TimeWindow:
        return cls(
            frozenset(int(d) for d in data["weekdays"]),
            time.fromisoformat(data["start"]),
            time.fromisoformat(data["end"]),
            str(data["timezone"]),
        )


def _set(values: Iterable[Any] | None) -> frozenset[Any] | None:
    return frozenset(values) if values is not None else None


@dataclass(frozen=True)
class Conditions:
    """``None`` means "any"; a set means "one of these"."""

    type_ids: frozenset[int] | None = None
    priority_ids: frozenset[int] | None = None
    channels: frozenset[str] | None = None
    channel_accounts: frozenset[str] | None = None
    company_category_ids: frozenset[int] | None = None
    time_window: TimeWindow | None = None
    attributes: Mapping[str, frozenset[str]] = field(default_factory=dict)

    _SETS = ("type_ids", "priority_ids", "channels", "channel_accounts", "company_category_ids")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Conditions:
        window = data.get("time_window")
        return cls(
            **{name: _set(data.get(name)) for name in cls._SETS},
            time_window=TimeWindow.from_json(window) if window else None,
            attributes={k: frozenset(v) for k, v in (data.get("attributes") or {}).items()},
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            name: sorted(getattr(self, name))
            for name in self._SETS
            if getattr(self, name) is not None
        }
        if self.time_window is not None:
            out["time_window"] = self.time_window.to_json()
        if self.attributes:
            out["attributes"] = {k: sorted(v) for k, v in self.attributes.items()}
        return out

    @property
    def uses_company_category(self) -> bool:
        return self.company_category_ids is not None


@dataclass(frozen=True)
class TicketFacts:
    """What routing looks at on a ticket."""

    type_id: int | None
    priority_id: int | None
    channel: str
    channel_account: str
    company_category_id: int | None
    created_at: datetime
    attributes: Mapping[str, Any] = field(default_factory=dict)


def matches(conditions: Conditions, facts: TicketFacts) -> bool:
    for allowed, value in (
        (conditions.type_ids, facts.type_id),
        (conditions.priority_ids, facts.priority_id),
        (conditions.channels, facts.channel),
        (conditions.channel_accounts, facts.channel_account),
        (conditions.company_category_ids, facts.company_category_id),
    ):
        if allowed is not None and value not in allowed:
            return False
    if conditions.time_window is not None and not conditions.time_window.contains(facts.created_at):
        return False
    return all(facts.attributes.get(k) in allowed for k, allowed in conditions.attributes.items())


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    position: int
    enabled: bool
    conditions: Conditions
    agent_id: int | None = None
    group_id: int | None = None
    distribution: Distribution = Distribution.NONE
    observer_agent_ids: frozenset[int] = frozenset()
    observer_group_ids: frozenset[int] = frozenset()

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Rule:
        return cls(
            id=int(row["id"]),
            name=str(row["name"]),
            position=int(row["position"]),
            enabled=bool(row["enabled"]),
            conditions=Conditions.from_json(row["conditions"] or {}),
            agent_id=row["agent_id"],
            group_id=row["group_id"],
            distribution=Distribution(row["distribution"]),
            observer_agent_ids=frozenset(row["observer_agent_ids"] or ()),
            observer_group_ids=frozenset(row["observer_group_ids"] or ()),
        )

    def agents(self) -> set[int]:
        return {a for a in (self.agent_id,) if a is not None} | set(self.observer_agent_ids)


def ordered(rules: Iterable[Rule]) -> list[Rule]:
    return sorted(rules, key=lambda r: (r.position, r.id))


def first_match(rules: Sequence[Rule], facts: TicketFacts) -> Rule | None:
    """The first enabled rule (in table order) whose conditions hold."""
    return next((r for r in ordered(rules) if r.enabled and matches(r.conditions, facts)), None)


@dataclass(frozen=True)
class Defaults:
    """The default chain's candidates for one ticket, and the cards' default observers."""

    service_object_manager: int | None = None
    contact_manager: int | None = None
    company_manager: int | None = None
    account_group: int | None = None
    observer_agent_ids: frozenset[int] = frozenset()

    def agents(self) -> set[int]:
        managers = (self.service_object_manager, self.contact_manager, self.company_manager)
        return {a for a in managers if a is not None} | set(self.observer_agent_ids)


class GroupPicker:
    """Distribution inside groups over one batch: active members per group, current loads,
    the last round-robin pick per group (updated as it picks)."""

    def __init__(
        self,
        members: Mapping[int, Sequence[int]],
        loads: Mapping[int, int] | None = None,
        last: Mapping[int, int | None] | None = None,
    ) -> None:
        self.members = {g: sorted(set(m)) for g, m in members.items()}
        self.loads = dict(loads or {})
        self.last: dict[int, int | None] = dict(last or {})
        self.turned: set[int] = set()  # groups whose round-robin pointer moved

    def pick(self, group_id: int, how: Distribution) -> int | None:
        members = self.members.get(group_id, [])
        if not members or how is Distribution.NONE:
            return None
        if how is Distribution.ROUND_ROBIN:
            last = self.last.get(group_id)
            chosen = next((m for m in members if last is None or m > last), members[0])
            self.last[group_id] = chosen
            self.turned.add(group_id)
        else:
            chosen = min(members, key=lambda m: (self.loads.get(m, 0), m))
        self.loads[chosen] = self.loads.get(chosen, 0) + 1
        return chosen


@dataclass(frozen=True)
class Assignment:
    """Routing's answer for one ticket. ``reason`` goes to the audit trail."""

    reason: str
    source: str  # rule | service_object | contact | company | channel_account | observers
    agent_id: int | None = None
    group_id: int | None = None
    observer_agent_ids: frozenset[int] = frozenset()
    observer_group_ids: frozenset[int] = frozenset()
    rule_id: int | None = None


DEFAULT_REASONS = {
    "service_object": "routing default: service object manager",
    "contact": "routing default: contact manager",
    "company": "routing default: company manager",
    "channel_account": "routing default: channel account group",
    "observers": "routing default observers",
}


def route(
    rules: Sequence[Rule],
    facts: TicketFacts,
    defaults: Defaults,
    default_observers: frozenset[int],
    active: set[int],
    picker: GroupPicker,
) -> Assignment | None:
    """Decide one ticket. ``active``: the agents (among those named) that are active;
    inactive ones are skipped wherever they appear. ``None``: nothing to do."""
    observers = (default_observers | defaults.observer_agent_ids) & active
    rule = first_match(rules, facts)
    if rule is not None:
        agent = rule.agent_id if rule.agent_id in active else None
        if rule.group_id is not None and rule.distribution is not Distribution.NONE:
            agent = picker.pick(rule.group_id, rule.distribution)
        return Assignment(
            reason=rule.name,
            source="rule",
            agent_id=agent,
            group_id=rule.group_id,
            observer_agent_ids=observers | (rule.observer_agent_ids & active),
            observer_group_ids=rule.observer_group_ids,
            rule_id=rule.id,
        )
    for source, manager in (
        ("service_object", defaults.service_object_manager),
        ("contact", defaults.contact_manager),
        ("company", defaults.company_manager),
    ):
        if manager is not None and manager in active:
            return Assignment(
                DEFAULT_REASONS[source], source, agent_id=manager, observer_agent_ids=observers
            )
    if defaults.account_group is not None:
        return Assignment(
            DEFAULT_REASONS["channel_account"],
            "channel_account",
            group_id=defaults.account_group,
            observer_agent_ids=observers,
        )
    if observers:
        return Assignment(DEFAULT_REASONS["observers"], "observers", observer_agent_ids=observers)
    return None
