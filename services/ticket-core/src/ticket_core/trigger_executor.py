"""Runs a list of actions on one ticket, in the caller's transaction: triggers and macros.

Ticket fields (status, priority, type, responsible, observers) change together through
``workflow.apply_changes`` (lock, rules, one audit + outbox write); tags are written here
with their audit row and a ``field.changed`` event; notes and canned replies go through
``replies.add_reply``; a notification is a ``notify.requested`` ticket event for the
notifier. Every event carries the caller's ``Provenance`` (a trigger's depth and id), which
is how trigger chains are bounded. A refusal (an illegal transition, a deactivated agent,
a contact without an address) raises ``ActionError``: the caller rolls the actions back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from helpdesk_common import correlation
from helpdesk_common.records import Channel, TicketEvent, TicketEventKind, new_id
from helpdesk_common.topics import TICKET_EVENTS
from sqlalchemy.ext.asyncio import AsyncSession

from . import repository as repo
from . import triggers_repo as trepo
from . import workflow_repo as wrepo
from .audit import Actor, FieldChange, audit_rows, insert_audit
from .catalog import Catalog, load_catalog
from .models import TicketStatus as Category
from .replies import ReplyError, ReplyRequest, ReplySettings, add_reply
from .settings import TicketCoreSettings
from .trigger_actions import (
    Action,
    ActionError,
    AddNote,
    AddObservers,
    AddTag,
    Assign,
    Notify,
    RemoveTag,
    Reply,
    SetPriority,
    SetStatus,
    SetType,
)
from .workflow import ChangeRequest, WorkflowError, apply_changes


@dataclass(frozen=True)
class Provenance:
    """What the events caused by the actions carry."""

    trigger_depth: int = 0
    details: dict[str, str] = field(default_factory=dict)
    actor_agent_id: int | None = None

    def event_fields(self) -> dict[str, Any]:
        return {
            "trigger_depth": self.trigger_depth,
            "details": dict(self.details),
            "actor_agent_id": self.actor_agent_id,
        }


@dataclass(frozen=True)
class ExecutorSettings:
    replies: ReplySettings
    auto_close_after: timedelta


@dataclass
class Executed:
    outbox_ids: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def check_actions(actions: Sequence[Action], catalog: Catalog) -> None:
    """Catalogue references (statuses, priorities, types): ``ActionError`` with the reason.
    Agents and groups are checked when the actions run (they may be deactivated later)."""
    for index, action in enumerate(actions):
        where = f"actions[{index}]"
        if isinstance(action, SetStatus):
            status = catalog.statuses.get(action.status_id)
            if status is None:
                raise ActionError(f"{where}: status {action.status_id} does not exist")
            pending = status.category is Category.PENDING
            if pending and action.pending_hours is None:
                raise ActionError(f"{where}: status {status.name!r} is pending: give pending_hours")
            if not pending and action.pending_hours is not None:
                raise ActionError(f"{where}: pending_hours is only for pending statuses")
        elif isinstance(action, SetPriority) and action.priority_id not in catalog.priorities:
            raise ActionError(f"{where}: priority {action.priority_id} does not exist")
        elif (
            isinstance(action, SetType)
            and action.type_id is not None
            and action.type_id not in catalog.types
        ):
            raise ActionError(f"{where}: ticket type {action.type_id} does not exist")


def _catalogue_choice(action: Action) -> tuple[str, int] | None:
    """The ticket column and row an action sets from the catalogue, if it sets one."""
    if isinstance(action, SetStatus):
        return "status_id", action.status_id
    if isinstance(action, SetPriority):
        return "priority_id", action.priority_id
    if isinstance(action, SetType) and action.type_id is not None:
        return "type_id", action.type_id
    return None


def check_new_choices(actions: Sequence[Action], kept: Sequence[Action], catalog: Catalog) -> None:
    """No action newly sets an inactive status, priority or type (``ActionError``, the
    ticket path's reason from ``Catalog.inactive_choice``). An action ``kept`` (the stored
    actions of the trigger or macro being changed) already set is kept, like a ticket's
    current value: editing a rule does not force it off a row switched off since. Call
    after ``check_actions`` (every row exists)."""
    before: set[tuple[str, int]] = set()
    for action in kept:
        if (choice := _catalogue_choice(action)) is not None:
            before.add(choice)
    for index, action in enumerate(actions):
        choice = _catalogue_choice(action)
        if choice is None:
            continue
        column, value = choice
        had = {column: value} if choice in before else {}
        reason = catalog.inactive_choice(had, {column: value})
        if reason is not None:
            raise ActionError(f"actions[{index}]: {reason}")


async def check_references(
    session: AsyncSession, actions: Sequence[Action], kept: Sequence[Action] = ()
) -> None:
    """Every reference of the actions exists now (the API refuses a rule that cannot run)
    and none newly chooses an inactive row (``kept``: the rule's stored actions)."""
    catalog = await load_catalog(session)
    check_actions(actions, catalog)
    check_new_choices(actions, kept, catalog)
    agent_ids: set[int] = set()
    group_ids: set[int] = set()
    for action in actions:
        if isinstance(action, Assign):
            agent_ids.update(x for x in [action.agent_id] if x is not None)
            group_ids.update(x for x in [action.group_id] if x is not None)
        elif isinstance(action, AddObservers):
            agent_ids.update(action.agent_ids)
            group_ids.update(action.group_ids)
    missing = agent_ids - await wrepo.active_agents(session, agent_ids)
    if missing:
        raise ActionError(f"agent(s) {sorted(missing)} do not exist or are deactivated")
    missing = group_ids - await wrepo.existing_groups(session, group_ids)
    if missing:
        raise ActionError(f"group(s) {sorted(missing)} do not exist")


def _change_request(
    actions: Sequence[Action],
    observers: tuple[frozenset[int], frozenset[int]],
    now: datetime,
    reason: str,
) -> ChangeRequest:
    values: dict[str, Any] = {"reason": reason}
    agents, groups = observers
    observing = False
    for action in actions:
        if isinstance(action, SetStatus):
            values["status_id"] = action.status_id
            values["pending_until"] = (
                now + timedelta(hours=action.pending_hours) if action.pending_hours else None
            )
        elif isinstance(action, SetPriority):
            values["priority_id"] = action.priority_id
        elif isinstance(action, SetType):
            values["type_id"] = action.type_id
        elif isinstance(action, Assign):
            given = action.model_fields_set
            if "agent_id" in given:
                values["responsible_agent_id"] = action.agent_id
            if "group_id" in given:
                values["responsible_group_id"] = action.group_id
        elif isinstance(action, AddObservers):
            agents |= frozenset(action.agent_ids)
            groups |= frozenset(action.group_ids)
            observing = True
    if observing:
        values.update(observer_agent_ids=agents, observer_group_ids=groups)
    return ChangeRequest(**values)


def _event(
    ticket: dict[str, Any],
    kind: TicketEventKind,
    internal: bool,
    provenance: Provenance,
    details: dict[str, str],
) -> TicketEvent:
    fields = provenance.event_fields()
    fields["details"] = {**fields["details"], **details}
    return TicketEvent(
        kind=kind,
        ticket_id=ticket["id"],
        ticket_number=ticket["number"],
        contact_id=ticket["contact_id"],
        channel=Channel(ticket["channel"]),
        status=ticket["status"],
        internal=internal,
        correlation_id=correlation.current() or new_id(),
        **fields,
    )


async def execute(
    session: AsyncSession,
    ticket_id: int,
    actions: Sequence[Action],
    *,
    actor: Actor,
    reason: str,
    provenance: Provenance,
    settings: ExecutorSettings,
    now: datetime,
    allow_reply: bool = True,
) -> Executed:
    """Run the actions on the ticket (locked here); ``allow_reply=False`` skips canned
    replies (the event was an auto-reply: never answer one automatically)."""
    done = Executed()
    catalog = await load_catalog(session)
    check_actions(actions, catalog)
    locked = await wrepo.lock_tickets(session, [ticket_id])
    if ticket_id not in locked:
        raise ActionError(f"ticket {ticket_id} not found")
    ticket = locked[ticket_id]
    fields = _fields(actions)
    if fields:
        observers = (frozenset[int](), frozenset[int]())
        if any(isinstance(a, AddObservers) for a in fields):
            observers = (await wrepo.observers_of(session, [ticket_id]))[ticket_id]
        request = _change_request(fields, observers, now, reason)
        if not request.is_empty():
            try:
                outcome = await apply_changes(
                    session,
                    [ticket_id],
                    request,
                    actor,
                    now=now,
                    auto_close_after=settings.auto_close_after,
                    event_fields=provenance.event_fields(),
                )
            except WorkflowError as exc:
                raise ActionError(str(exc)) from exc
            if ticket_id in outcome.failed:
                raise ActionError(outcome.failed[ticket_id])
            done.outbox_ids += outcome.outbox_ids
            ticket = outcome.tickets.get(ticket_id, ticket)
    internal = catalog.is_internal(ticket.get("type_id"))
    events = await _tags(session, ticket, actions, actor, reason, provenance, internal, now)
    for action in actions:
        if isinstance(action, AddNote | Reply):
            if isinstance(action, Reply) and not allow_reply:
                done.skipped.append("reply: the event was an automatic message")
                continue
            reply = ReplyRequest(
                text=action.text,
                internal=isinstance(action, AddNote),
                automatic=not actor.is_agent,
            )
            try:
                _, ids = await add_reply(
                    session,
                    ticket_id,
                    reply,
                    settings.replies,
                    event_fields=provenance.event_fields(),
                )
            except ReplyError as exc:
                raise ActionError(str(exc)) from exc
            done.outbox_ids += ids
        elif isinstance(action, Notify):
            details = {"template": action.template, "recipients": ",".join(action.recipients)}
            events.append(
                _event(ticket, TicketEventKind.NOTIFY_REQUESTED, internal, provenance, details)
            )
    done.outbox_ids += await repo.add_outbox(
        session, [(TICKET_EVENTS.name, e.model_dump_json()) for e in events]
    )
    return done


def _fields(actions: Sequence[Action]) -> list[Action]:
    kinds = SetStatus | SetPriority | SetType | Assign | AddObservers
    return [a for a in actions if isinstance(a, kinds)]


async def _tags(
    session: AsyncSession,
    ticket: dict[str, Any],
    actions: Sequence[Action],
    actor: Actor,
    reason: str,
    provenance: Provenance,
    internal: bool,
    now: datetime,
) -> list[TicketEvent]:
    before = list(ticket.get("tags") or [])
    after = list(before)
    for action in actions:
        if isinstance(action, AddTag) and action.tag not in after:
            after.append(action.tag)
        elif isinstance(action, RemoveTag) and action.tag in after:
            after.remove(action.tag)
    if after == before:
        return []
    await trepo.set_tags(session, ticket["id"], after, now)
    await insert_audit(
        session, audit_rows(ticket["id"], actor, [FieldChange("tags", before, after)], now, reason)
    )
    return [_event(ticket, TicketEventKind.FIELD_CHANGED, internal, provenance, {"field": "tags"})]


def executor_settings(settings: TicketCoreSettings) -> ExecutorSettings:
    return ExecutorSettings(
        replies=ReplySettings(settings.email_domain, settings.reply_email_account),
        auto_close_after=timedelta(seconds=settings.auto_close_after_seconds),
    )
