"""SLA re-planning, pure: when a change touches what the SLA rules look at (type,
priority, company), the rules are evaluated again and the planned times follow the rule
that matches now.

* Only when the matching rule differs from the ticket's (``sla_rule_id``): the same rule
  gives the same targets (rule and calendar edits still do not touch existing tickets).
* The new rule's targets are measured from the registration time (``created_at``) on its
  calendar; the planned resolution is then moved over every Pending span the ticket has
  had (``sla.resume`` per span, as a resume after Pending does). A ticket still Pending
  keeps its clock paused from the start of the current span.
* A time set by hand (``<target>_due_manual``) is kept, as is the planned reaction once
  the reaction happened (``first_response_at``).
* The timers follow the new times: a marker (``*_warned_at`` / ``*_breached_at``) stays
  only while its moment is already past under the new plan; otherwise it is cleared, so
  a later time warns (and breaches) again at the new moment and an earlier time already
  past breaches once at the next timer round.
* No rule matches any more (or its calendar has no working time left): the targets that
  are not kept are cleared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .audit import FieldChange
from .models import TicketStatus as Category
from .sla import NoWorkingTimeError, Policy, TicketFacts, plan, resume
from .sla_tickets import TARGETS, SlaConfig, Target, warn_at

# What the SLA rule conditions look at on a ticket (the company's category follows the
# company).
RULE_FACTS = ("type_id", "priority_id", "company_id")
MANUAL_COLUMNS = ("reaction_due_manual", "resolution_due_manual")
REPLAN_AUDITED = ("sla_rule_id", "reaction_due_at", "resolution_due_at")


def facts_changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    return any(before.get(f) != after.get(f) for f in RULE_FACTS)


@dataclass(frozen=True)
class StatusMove:
    """One status change from the audit trail (categories)."""

    at: datetime
    old: str | None
    new: str | None


def pending_spans(
    moves: Sequence[StatusMove], created_at: datetime
) -> tuple[list[tuple[datetime, datetime]], datetime | None]:
    """The closed Pending spans of a ticket's history, in order, and the start of the
    current one (None when the ticket is not Pending after its last move)."""
    spans: list[tuple[datetime, datetime]] = []
    started: datetime | None = None
    for move in sorted(moves, key=lambda m: m.at):
        if move.at < created_at:
            continue
        if move.new == Category.PENDING and started is None:
            started = move.at
        elif move.new != Category.PENDING and started is not None:
            spans.append((started, move.at))
            started = None
    return spans, started


@dataclass(frozen=True)
class Replan:
    """The outcome for one ticket: the columns to write and what the audit trail records
    (old -> new rule and planned times, with the rule's name in the reason)."""

    values: dict[str, Any] = field(default_factory=dict)
    changes: list[FieldChange] = field(default_factory=list)
    rule_name: str | None = None

    @property
    def reason(self) -> str:
        return f"SLA re-planned: rule {self.rule_name or '(none)'}"


def _kept(ticket: Mapping[str, Any], target: Target) -> bool:
    if ticket.get(f"{target}_due_manual"):
        return True
    return target == "reaction" and ticket.get("first_response_at") is not None


def _markers(
    ticket: Mapping[str, Any], target: Target, due: datetime | None, lead: int | None, now: datetime
) -> dict[str, Any]:
    """Due, warn time and the fired markers of a re-planned target."""
    warn = warn_at(due, lead)
    breached = ticket.get(f"{target}_breached_at")
    warned = ticket.get(f"{target}_warned_at")
    past_due = due is not None and due <= now
    past_warn = past_due or (warn is not None and warn <= now)
    return {
        f"{target}_due_at": due,
        f"{target}_warn_at": warn,
        f"{target}_breached_at": breached if past_due else None,
        f"{target}_warned_at": warned if past_warn else None,
    }


def replan(
    config: SlaConfig,
    ticket: Mapping[str, Any],
    facts: TicketFacts,
    moves: Sequence[StatusMove],
    now: datetime,
) -> Replan | None:
    """The re-plan of ``ticket`` (its values after the change) whose rule facts are
    ``facts`` (registration time = ``created_at``), given its status history ``moves``
    (including a move this change makes). None: the same rule still applies."""
    loaded = config.match(facts)
    rule_id = loaded.id if loaded is not None else None
    if rule_id == ticket.get("sla_rule_id"):
        return None
    dues: dict[Target, datetime | None] = {"reaction": None, "resolution": None}
    lead: int | None = None
    if loaded is not None:
        try:
            reaction, resolution = plan(loaded.policy, facts.registered_at)
        except NoWorkingTimeError:
            loaded, rule_id = None, None
        else:
            lead = loaded.warning_seconds or None
            spans, _ = pending_spans(moves, facts.registered_at)
            zero = timedelta(0)
            clock = Policy("resume", loaded.policy.calendar, zero, zero)
            for paused, resumed in spans:
                try:
                    resolution = resume(clock, resolution, paused, resumed)
                except NoWorkingTimeError:
                    break
            dues = {"reaction": reaction, "resolution": resolution}
    values: dict[str, Any] = {"sla_rule_id": rule_id, "sla_warning_seconds": lead}
    for target in TARGETS:
        if not _kept(ticket, target) and dues[target] != ticket.get(f"{target}_due_at"):
            values.update(_markers(ticket, target, dues[target], lead, now))
        elif not _kept(ticket, target) and lead != ticket.get("sla_warning_seconds"):
            values[f"{target}_warn_at"] = warn_at(dues[target], lead)
    if ticket.get("status") == Category.PENDING and "resolution_due_at" in values:
        _, current = pending_spans(moves, facts.registered_at)
        paused = ticket.get("sla_paused_at") or current or now
        values["sla_paused_at"] = paused if values["resolution_due_at"] is not None else None
    changes = [
        FieldChange(f, ticket.get(f), values[f])
        for f in REPLAN_AUDITED
        if f in values and values[f] != ticket.get(f)
    ]
    return Replan(values, changes, loaded.rule.name if loaded is not None else None)
