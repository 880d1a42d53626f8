"""Changing tickets: status (custom status, pending until), priority, type, responsible agent
or group, observers, for one ticket or many, by an agent or by the system (timers).

One call is one transaction's worth of work, set-based whatever the number of tickets:
lock the tickets (id order), plan each change in memory with the pure rules of
``statuses.py``, then one UPDATE (executemany), one audit INSERT and one outbox INSERT.
The caller commits and wakes the outbox relay.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from helpdesk_common import correlation
from helpdesk_common.records import Channel, TicketEvent, TicketEventKind, new_id
from helpdesk_common.topics import TICKET_EVENTS
from sqlalchemy.ext.asyncio import AsyncSession

from . import repository as repo
from . import ticket_fields
from . import workflow_repo as wrepo
from .audit import Actor, FieldChange, audit_rows, changes_between, insert_audit
from .catalog import Catalog, Status, load_catalog
from .custom_attributes import AttributeDef, InvalidAttribute, apply_patch
from .sla_hooks import apply_to_planned as apply_sla
from .sla_hooks import split_replan_audit
from .sla_tickets import Target
from .statuses import TransitionError, enter
from .ticket_fields import attribute_changes


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = _Keep()
AUDITED = (
    "status",
    "status_id",
    "pending_until",
    "priority_id",
    "type_id",
    "responsible_agent_id",
    "responsible_group_id",
    "reaction_due_at",
    "resolution_due_at",
    "service_object_id",
)
_RESPONSIBLE = {"responsible_agent_id", "responsible_group_id"}
_STATUS = {"status", "status_id", "pending_until"}


class WorkflowError(ValueError):
    """The request itself is wrong (unknown status, deactivated agent...): 422."""


@dataclass(frozen=True)
class ChangeRequest:
    status_id: int | None = None
    status: str | None = None  # a category: its default custom status
    pending_until: datetime | None = None
    priority_id: int | None = None
    type_id: int | _Keep | None = KEEP
    responsible_agent_id: int | _Keep | None = KEEP
    responsible_group_id: int | _Keep | None = KEEP
    observer_agent_ids: frozenset[int] | None = None
    observer_group_ids: frozenset[int] | None = None
    reason: str | None = None
    # SLA planned times set by hand (None clears one; see sla_hooks.py)
    reaction_due_at: datetime | _Keep | None = KEEP
    resolution_due_at: datetime | _Keep | None = KEEP
    # --- routing (migration 0006) ---
    service_object_id: int | _Keep | None = KEEP
    custom_attributes: Mapping[str, Any] | None = None  # a patch: null removes a key
    role: str | None = None  # the acting agent's role: attributes it cannot see are refused

    def is_empty(self) -> bool:
        return (
            self.status_id is None
            and self.status is None
            and self.pending_until is None
            and self.priority_id is None
            and all(v is KEEP for v in self._assignments())
            and self.observer_agent_ids is None
            and self.observer_group_ids is None
            and self.service_object_id is KEEP
            and not self.custom_attributes
        )

    def _assignments(self) -> tuple[Any, ...]:
        return (
            self.type_id,
            self.responsible_agent_id,
            self.responsible_group_id,
            self.reaction_due_at,
            self.resolution_due_at,
        )


@dataclass
class Outcome:
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    outbox_ids: list[int] = field(default_factory=list)


def _target_status(request: ChangeRequest, catalog: Catalog) -> Status | None:
    if request.status_id is not None:
        status = catalog.statuses.get(request.status_id)
        if status is None:
            raise WorkflowError(f"status {request.status_id} does not exist")
        if request.status is not None and request.status != status.category:
            raise WorkflowError(
                f"status {status.name!r} belongs to {status.category.value}, not {request.status}"
            )
        return status
    if request.status is not None:
        return catalog.default_status(request.status)
    return None


async def _check_references(
    session: AsyncSession, request: ChangeRequest, catalog: Catalog
) -> None:
    if request.priority_id is not None and request.priority_id not in catalog.priorities:
        raise WorkflowError(f"priority {request.priority_id} does not exist")
    if isinstance(request.type_id, int) and request.type_id not in catalog.types:
        raise WorkflowError(f"ticket type {request.type_id} does not exist")
    if isinstance(request.service_object_id, int):
        if not await ticket_fields.service_object_exists(session, request.service_object_id):
            raise WorkflowError(f"service object {request.service_object_id} does not exist")
    wanted_agents = set(request.observer_agent_ids or ())
    if isinstance(request.responsible_agent_id, int):
        wanted_agents.add(request.responsible_agent_id)
    missing = wanted_agents - await wrepo.active_agents(session, wanted_agents)
    if missing:
        raise WorkflowError(f"agent(s) {_ids(missing)} do not exist or are deactivated")
    wanted_groups = set(request.observer_group_ids or ())
    if isinstance(request.responsible_group_id, int):
        wanted_groups.add(request.responsible_group_id)
    missing = wanted_groups - await wrepo.existing_groups(session, wanted_groups)
    if missing:
        raise WorkflowError(f"group(s) {_ids(missing)} do not exist")


def _ids(values: Iterable[int]) -> str:
    return ", ".join(str(v) for v in sorted(values))


def _plan(
    ticket: dict[str, Any],
    request: ChangeRequest,
    target: Status | None,
    catalog: Catalog,
    actor: Actor,
    now: datetime,
    auto_close_after: timedelta,
) -> dict[str, Any]:
    after = dict(ticket)
    if target is not None or request.pending_until is not None:
        status = target or catalog.statuses[ticket["status_id"]]
        after.update(
            enter(
                ticket,
                status.category,
                status.id,
                now,
                pending_until=request.pending_until,
                auto_close_after=auto_close_after,
            )
        )
        moved = after["status_id"] != ticket["status_id"] or after["status"] != ticket["status"]
        if moved and actor.is_agent and ticket.get("first_response_at") is None:
            after["first_response_at"] = now  # a status change by an agent is a reaction
    if request.priority_id is not None:
        after["priority_id"] = request.priority_id
    for column in ("type_id", "service_object_id", *sorted(_RESPONSIBLE)):
        value = getattr(request, column)
        if not isinstance(value, _Keep):
            after[column] = value
    return after


async def apply_changes(
    session: AsyncSession,
    ticket_ids: Iterable[int],
    request: ChangeRequest,
    actor: Actor,
    *,
    now: datetime,
    auto_close_after: timedelta,
    event_fields: Mapping[str, Any] | None = None,
) -> Outcome:
    """Lock and change the tickets; per-ticket refusals (an illegal transition, a missing
    ticket) land in ``Outcome.failed``, a wrong request raises ``WorkflowError``."""
    if request.is_empty():
        raise WorkflowError("nothing to change")
    catalog = await load_catalog(session)
    target = _target_status(request, catalog)
    await _check_references(session, request, catalog)
    attributes = await ticket_fields.load_definitions(session) if request.custom_attributes else {}
    if request.custom_attributes:
        try:  # the patch itself (keys, kinds, options, visibility), whatever the ticket
            apply_patch(attributes, {}, request.custom_attributes, role=request.role)
        except InvalidAttribute as exc:
            raise WorkflowError(str(exc)) from exc
    wanted = list(dict.fromkeys(ticket_ids))
    locked = await wrepo.lock_tickets(session, wanted)
    outcome = Outcome(failed={t: "ticket not found" for t in wanted if t not in locked})
    await apply_to_locked(
        session,
        locked,
        request,
        actor,
        catalog,
        target,
        outcome,
        now,
        auto_close_after,
        attributes,
        event_fields=event_fields,
    )
    return outcome


async def apply_to_locked(
    session: AsyncSession,
    locked: dict[int, dict[str, Any]],
    request: ChangeRequest,
    actor: Actor,
    catalog: Catalog,
    target: Status | None,
    outcome: Outcome,
    now: datetime,
    auto_close_after: timedelta,
    attributes: Mapping[str, AttributeDef] | None = None,
    *,
    event_fields: Mapping[str, Any] | None = None,
) -> None:
    """Plan and write the changes of tickets this transaction has locked; ``event_fields``
    go into every ticket event (a trigger's ``trigger_depth`` and ``details``)."""
    observing = request.observer_agent_ids is not None or request.observer_group_ids is not None
    observers = await wrepo.observers_of(session, locked) if observing else {}
    planned: dict[int, dict[str, Any]] = {}
    for ticket_id, ticket in locked.items():
        try:  # a ticket is planned only when every part of its change is valid
            plan = _plan(ticket, request, target, catalog, actor, now, auto_close_after)
            if request.custom_attributes:
                plan["custom_attributes"] = apply_patch(
                    attributes or {},
                    ticket.get("custom_attributes") or {},
                    request.custom_attributes,
                    role=request.role,
                )
        except (TransitionError, InvalidAttribute) as exc:
            outcome.failed[ticket_id] = str(exc)
            continue
        planned[ticket_id] = plan
        inactive = catalog.inactive_choice(ticket, planned[ticket_id])  # (migration 0015)
        if inactive is not None:
            outcome.failed[ticket_id] = inactive
            del planned[ticket_id]
    pairs = {
        (a["responsible_agent_id"], a["responsible_group_id"])
        for a in planned.values()
        if a["responsible_agent_id"] is not None and a["responsible_group_id"] is not None
    }
    replans = await apply_sla(session, locked, planned, _hand_set_dues(request), now)
    members = await wrepo.memberships(session, pairs)
    for ticket_id, after in list(planned.items()):
        pair = (after["responsible_agent_id"], after["responsible_group_id"])
        if None not in pair and pair not in members and pair != _pair(locked[ticket_id]):
            outcome.failed[ticket_id] = f"agent {pair[0]} is not a member of group {pair[1]}"
            del planned[ticket_id]

    rows, audit, events = [], [], []
    new_agents: dict[int, frozenset[int]] = {}
    new_groups: dict[int, frozenset[int]] = {}
    for ticket_id, after in planned.items():
        before = locked[ticket_id]
        changes, replanned = split_replan_audit(
            replans.get(ticket_id), before, after, changes_between(before, after, AUDITED)
        )
        changes += attribute_changes(
            before.get("custom_attributes") or {}, after.get("custom_attributes") or {}
        )
        old_agents, old_groups = observers.get(ticket_id, (frozenset(), frozenset()))
        for name, old, new, target_map in (
            ("observer_agents", old_agents, request.observer_agent_ids, new_agents),
            ("observer_groups", old_groups, request.observer_group_ids, new_groups),
        ):
            if new is not None and new != old:
                changes.append(FieldChange(name, old, new))
                target_map[ticket_id] = new
        if not changes:
            outcome.unchanged.append(ticket_id)
            outcome.tickets[ticket_id] = before
            continue
        after["updated_at"] = now
        rows.append(after)
        audit.extend(audit_rows(ticket_id, actor, changes, now, request.reason))
        if replanned:  # --- sla re-planning (migration 0014) ---
            audit.extend(audit_rows(ticket_id, actor, replanned, now, replans[ticket_id].reason))
        events.extend(_events(before, after, changes, catalog, actor, event_fields or {}))
        outcome.updated.append(ticket_id)
        outcome.tickets[ticket_id] = after
    await wrepo.write_tickets(session, rows)
    await wrepo.replace_observers(session, "agent", new_agents)
    await wrepo.replace_observers(session, "group", new_groups)
    await insert_audit(session, audit)
    outcome.outbox_ids = await repo.add_outbox(
        session, [(TICKET_EVENTS.name, e.model_dump_json()) for e in events]
    )


def _hand_set_dues(request: ChangeRequest) -> dict[Target, datetime | None]:
    dues: dict[Target, datetime | None] = {}
    if not isinstance(request.reaction_due_at, _Keep):
        dues["reaction"] = request.reaction_due_at
    if not isinstance(request.resolution_due_at, _Keep):
        dues["resolution"] = request.resolution_due_at
    return dues


def _pair(ticket: dict[str, Any]) -> tuple[Any, Any]:
    return (ticket["responsible_agent_id"], ticket["responsible_group_id"])


def _events(
    before: dict[str, Any],
    after: dict[str, Any],
    changes: list[FieldChange],
    catalog: Catalog,
    actor: Actor,
    event_fields: Mapping[str, Any],
) -> list[TicketEvent]:
    fields = {c.field for c in changes}
    kinds = []
    if fields & _STATUS:
        kinds.append(TicketEventKind.STATUS_CHANGED)
    if fields & _RESPONSIBLE:
        kinds.append(TicketEventKind.RESPONSIBLE_CHANGED)
    if fields - _STATUS - _RESPONSIBLE:
        kinds.append(TicketEventKind.FIELD_CHANGED)
    correlation_id = correlation.current() or new_id()
    return [
        TicketEvent(
            kind=kind,
            **_event_fields(kind, before, after, actor, event_fields),
            ticket_id=after["id"],
            ticket_number=after["number"],
            contact_id=after["contact_id"],
            channel=Channel(after["channel"]),
            status=after["status"],
            previous_status=before["status"] if kind is TicketEventKind.STATUS_CHANGED else None,
            internal=catalog.is_internal(after["type_id"]),
            correlation_id=correlation_id,
        )
        for kind in kinds
    ]


def _event_fields(
    kind: TicketEventKind,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    actor: Actor,
    event_fields: Mapping[str, Any],
) -> dict[str, Any]:
    """``event_fields`` (a trigger's provenance: depth, details, the agent behind it) with
    the acting agent; a status change also names the custom statuses in its details
    (``status_id``, ``previous_status_id``): the notifier renders the status the event
    moved to, not whatever the ticket has when the event is handled."""
    fields = dict(event_fields)
    if actor.agent_id is not None or "actor_agent_id" not in fields:
        fields["actor_agent_id"] = actor.agent_id
    if kind is TicketEventKind.STATUS_CHANGED:
        ids = {
            name: str(row["status_id"])
            for name, row in (("status_id", after), ("previous_status_id", before))
            if row.get("status_id") is not None
        }
        fields["details"] = {**(fields.get("details") or {}), **ids}
    return fields
