"""Ticket events -> enabled triggers -> actions, once per (trigger, event).

Which trigger event a ticket event is (``trigger_event_of``, pure): ``ticket.created``;
``customer.message`` (a customer's message that is neither an auto-reply nor a bounce:
those never set off automation); ``agent.reply`` (a public reply); ``status.changed``;
``field.changed`` (priority, type, responsible, observers, tags); ``sla.warning`` and
``sla.breached``. Internal notes, edits and the other kinds set off nothing.

Loops: an event caused by a trigger carries ``trigger_depth = n + 1`` and
``details["trigger_id"]``. A trigger never reacts to an event it caused itself, and no
trigger reacts to an event of depth ``MAX_DEPTH`` or more: a chain of triggers setting
each other off stops after ``MAX_DEPTH`` firings.

Every enabled trigger of an event is first evaluated on the ticket as committed, without
a lock; the tickets that some trigger matches are then locked and read fresh, and their
events evaluated again against that one snapshot; the matching ones fire in position order
(each acting on the ticket as the earlier ones left it). A matching trigger first claims
its firing record (unique per trigger and event: a redelivered event fires nothing
again), then runs its actions in a savepoint; actions the rules refuse are rolled back
and the refusal is kept on the firing record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from helpdesk_common.logs import get_logger
from helpdesk_common.records import TicketEvent, TicketEventKind
from sqlalchemy.ext.asyncio import AsyncSession

from . import repository as repo
from . import triggers_repo as trepo
from . import workflow_repo as wrepo
from .audit import SYSTEM
from .models import MessageKind
from .trigger_actions import ActionError, parse_actions
from .trigger_conditions import ConditionError, matches, parse, scopes
from .trigger_executor import ExecutorSettings, Provenance, execute

log = get_logger(__name__)
MAX_DEPTH = 3

_BY_KIND = {
    TicketEventKind.TICKET_CREATED: "ticket.created",
    TicketEventKind.STATUS_CHANGED: "status.changed",
    TicketEventKind.FIELD_CHANGED: "field.changed",
    TicketEventKind.RESPONSIBLE_CHANGED: "field.changed",
    TicketEventKind.SLA_WARNING: "sla.warning",
    TicketEventKind.SLA_BREACHED: "sla.breached",
}
TRIGGER_EVENTS = (
    "ticket.created",
    "customer.message",
    "agent.reply",
    "status.changed",
    "field.changed",
    "sla.warning",
    "sla.breached",
    "time",
)


def trigger_event_of(event: TicketEvent, message: Mapping[str, Any] | None) -> str | None:
    """The trigger event a ticket event is, or None (``message``: the event's message row)."""
    if event.kind is TicketEventKind.MESSAGE_ADDED:
        if message is None:
            return None
        if message["kind"] == MessageKind.CUSTOMER:
            automatic = message.get("auto_submitted") or message.get("is_bounce")
            return None if automatic else "customer.message"
        return "agent.reply" if message["kind"] == MessageKind.PUBLIC_REPLY else None
    return _BY_KIND.get(event.kind)


def may_react(trigger_id: int, event: TicketEvent) -> bool:
    """The loop rules: below the depth bound, and not an event the trigger caused."""
    return event.trigger_depth < MAX_DEPTH and event.details.get("trigger_id") != str(trigger_id)


def event_context(event: TicketEvent) -> dict[str, Any]:
    return {
        "kind": event.kind.value,
        "status": event.status,
        "previous_status": event.previous_status,
        "actor_agent_id": event.actor_agent_id,
        "trigger_depth": event.trigger_depth,
        "channel": event.channel.value if event.channel else None,
        "details": dict(event.details),
    }


@dataclass
class Fired:
    firings: list[tuple[int, str]] = field(default_factory=list)  # (trigger id, event id)
    refused: dict[tuple[int, str], str] = field(default_factory=dict)
    outbox_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class CompiledTrigger:
    row: dict[str, Any]
    condition: Any
    actions: list[Any]

    @property
    def id(self) -> int:
        return int(self.row["id"])

    @property
    def name(self) -> str:
        return str(self.row["name"])


def compile_trigger(row: dict[str, Any]) -> CompiledTrigger | None:
    """A stored trigger ready to run; None (logged) if its JSON no longer validates
    (a column it names was dropped)."""
    try:
        return CompiledTrigger(row, parse(row["conditions"]), parse_actions(row["actions"]))
    except (ConditionError, ActionError) as exc:
        log.error("trigger_invalid", trigger_id=row["id"], error=str(exc)[:300])
        return None


async def context_for(
    session: AsyncSession, ticket: dict[str, Any], message_id: int | None, event: dict[str, Any]
) -> dict[str, Any]:
    contact, company, message = await trepo.context_rows(session, ticket, message_id)
    return {
        "ticket": ticket,
        "contact": contact,
        "company": company,
        "message": message,
        "event": event,
    }


async def fire(
    session: AsyncSession,
    trigger: CompiledTrigger,
    ticket_id: int,
    firing_key: str,
    *,
    depth: int,
    settings: ExecutorSettings,
    now: datetime,
    allow_reply: bool,
    result: Fired,
) -> str | None:
    """Run the trigger's actions in a savepoint; returns the refusal, if any."""
    provenance = Provenance(trigger_depth=depth, details={"trigger_id": str(trigger.id)})
    try:
        async with session.begin_nested():
            done = await execute(
                session,
                ticket_id,
                trigger.actions,
                actor=SYSTEM,
                reason=f"trigger {trigger.name}",
                provenance=provenance,
                settings=settings,
                now=now,
                allow_reply=allow_reply,
            )
    except ActionError as exc:
        log.warning("trigger_refused", trigger_id=trigger.id, ticket_id=ticket_id, error=str(exc))
        result.refused[(trigger.id, firing_key)] = str(exc)
        return str(exc)
    result.firings.append((trigger.id, firing_key))
    result.outbox_ids += done.outbox_ids
    log.info("trigger_fired", trigger_id=trigger.id, ticket_id=ticket_id, depth=depth)
    return None


async def handle_events(
    session: AsyncSession,
    events: Sequence[TicketEvent],
    settings: ExecutorSettings,
    now: datetime | None = None,
) -> Fired:
    """Evaluate and fire the triggers of a batch of ticket events in the caller's transaction."""
    result = Fired()
    work = await _work(session, [e for e in events if e.trigger_depth < MAX_DEPTH])
    # Evaluated first on the tickets as committed, without locks: most events match no
    # trigger (the built-in one waits for a status most tickets are not in), and locking
    # their tickets cost row locks that the ingestion of the next batch then waited for.
    # Only the tickets some trigger matches are locked, and their events are evaluated
    # again on the locked rows (a firing is decided on those alone). An event that
    # matched nothing on the committed row is handled as if the consumer ran just
    # before the change that is still in flight.
    current = await trepo.tickets_by_ids(session, {event.ticket_id for event, _ in work})
    context_of = await _contexts(session, work, current)
    to_lock: set[int] = set()
    for event, triggers in work:
        ticket = current.get(event.ticket_id)
        if ticket is not None and _chosen(triggers, event, await context_of(event, ticket)):
            to_lock.add(event.ticket_id)
    if not to_lock:
        return result
    work = [(event, triggers) for event, triggers in work if event.ticket_id in to_lock]
    # Lock every ticket the batch may change at once, in id order like every other writer
    # (ingestion, the API, the timers), so the consumer never deadlocks with them.
    locked = await wrepo.lock_tickets(session, to_lock)
    context_of = await _contexts(session, work, locked)
    changed: set[int] = set()  # tickets a trigger of this batch changed: read them again
    for event, triggers in work:
        # Every trigger of the event is evaluated against one snapshot, so each reacts to
        # what the event saw; what the triggers change comes back as their own events.
        ticket = locked.get(event.ticket_id)
        if event.ticket_id in changed:
            ticket = await repo.ticket_by_id(session, event.ticket_id)
            changed.discard(event.ticket_id)
        if ticket is None:
            continue
        context = await context_of(event, ticket)
        chosen = _chosen(triggers, event, context)
        if chosen and context["message"] is None and event.message_id is not None:
            _, _, found = await trepo.context_rows_many(
                session, {}, [event.message_id], people=False
            )
            context["message"] = found.get(event.message_id)
        message = context["message"] or {}
        for trigger in chosen:
            if not await trepo.claim_firing(session, trigger.id, event.event_id, event.ticket_id):
                continue  # fired on an earlier delivery of this event
            error = await fire(
                session,
                trigger,
                event.ticket_id,
                event.event_id,
                depth=event.trigger_depth + 1,
                settings=settings,
                now=now or datetime.now(UTC),
                allow_reply=not (message.get("auto_submitted") or message.get("is_bounce")),
                result=result,
            )
            if error is not None:
                await trepo.firing_failed(session, trigger.id, event.event_id, error)
            else:
                changed.add(event.ticket_id)
    return result


def _chosen(
    triggers: Sequence[CompiledTrigger], event: TicketEvent, context: dict[str, Any]
) -> list[CompiledTrigger]:
    return [t for t in triggers if may_react(t.id, event) and matches(t.condition, context)]


async def _contexts(
    session: AsyncSession,
    work: Sequence[tuple[TicketEvent, list[CompiledTrigger]]],
    tickets: dict[int, dict[str, Any]],
) -> Callable[[TicketEvent, dict[str, Any]], Awaitable[dict[str, Any]]]:
    """The condition context of each event on the given ticket rows. The context rows of
    every event come in three statements for the whole batch, and only what the
    conditions read: the built-in triggers look at the ticket alone."""
    read = {scope for _, triggers in work for t in triggers for scope in scopes(t.condition)}
    contacts, companies, messages = await trepo.context_rows_many(
        session,
        tickets,
        [e.message_id for e, _ in work if e.message_id is not None] if "message" in read else [],
        people=bool(read & {"contact", "company"}),
    )

    async def context_of(event: TicketEvent, ticket: dict[str, Any]) -> dict[str, Any]:
        if event.message_id is None:  # rare (status events): its latest message, read alone
            return await context_for(session, ticket, None, event_context(event))
        contact = contacts.get(ticket.get("contact_id") or 0)
        company_id = ticket.get("company_id") or (contact or {}).get("company_id")
        return {
            "ticket": ticket,
            "contact": contact,
            "company": companies.get(company_id or 0),
            "message": messages.get(event.message_id),
            "event": event_context(event),
        }

    return context_of


async def _work(
    session: AsyncSession, events: Sequence[TicketEvent]
) -> list[tuple[TicketEvent, list[CompiledTrigger]]]:
    """The events that have enabled triggers, with them (two statements per batch)."""
    if not events:
        return []
    by_kind: dict[str, list[CompiledTrigger]] = {}
    for row in await trepo.enabled_triggers(session, [k for k in TRIGGER_EVENTS if k != "time"]):
        compiled = compile_trigger(row)
        if compiled is not None:
            by_kind.setdefault(str(row["event"]), []).append(compiled)
    if not by_kind:
        return []
    wanted = [
        e.message_id
        for e in events
        if e.kind is TicketEventKind.MESSAGE_ADDED and e.message_id is not None
    ]
    needs_messages = "customer.message" in by_kind or "agent.reply" in by_kind
    found = await trepo.message_kinds(session, wanted) if needs_messages else {}
    work = []
    for event in events:
        message = found.get(event.message_id) if event.message_id is not None else None
        kind = trigger_event_of(event, message)
        if kind is not None and kind in by_kind:
            work.append((event, by_kind[kind]))
    return work
