"""Inbound messages become contacts, tickets and messages: one transaction per batch.

Set-based: a batch costs a fixed number of statements (contacts, candidate tickets,
id allocation, one executemany per table), not a few per message. Messages are decided
in order, so one customer's messages keep their order and a ticket opened by one
message is found by the next. Idempotent: a message whose idempotency key is stored is
acknowledged and dropped. Every change is announced by ticket events written to the
outbox in the same transaction, so an event is never lost when the process dies after
the commit.

Workflow: new tickets get the default custom status and priority and the contact's
company; a status change (Pending -> Open, a reopen) moves the clocks with the rules of
``statuses.py``, counts the reopening and is written to the audit trail (customer). The
catalogue, the company domains and the audit rows cost one statement each per batch.
New tickets are routed before they are inserted (``routing_writer``: responsible agent
or group, observers; audited by ``system``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from helpdesk_common.logs import get_logger
from helpdesk_common.records import InboundMessage, TicketEventKind
from helpdesk_common.topics import TICKET_EVENTS
from sqlalchemy.ext.asyncio import AsyncSession

from . import batch_repo as batch
from . import repository as repo
from .audit import CUSTOMER, FieldChange, audit_rows, insert_audit
from .bounces import ingest_bounce
from .catalog import Catalog, load_catalog
from .contacts import resolve_contacts
from .inbound_rows import ConcurrentDuplicate, IngestResult, event, message_row
from .models import TicketStatus
from .routing_cache import SNAPSHOTS
from .routing_writer import route_new_tickets
from .statuses import enter
from .thread_index import ThreadIndex
from .threading import Action, conversation_key, decide, new_ticket_subject, sender_may_join

log = get_logger(__name__)
Ticket = dict[str, Any]
__all__ = ["ConcurrentDuplicate", "IngestResult", "ingest_batch"]


@dataclass
class _Step:
    """What one message does: the ticket it lands in and the status change it makes."""

    message: InboundMessage
    contact_id: int
    ticket: Ticket
    opened: bool
    status_change: tuple[str, str] | None = None
    audit: list[FieldChange] = field(default_factory=list)


async def _sender_belongs(
    session: AsyncSession, message: InboundMessage, contact_id: int, ticket: dict[str, Any]
) -> bool:
    if ticket["contact_id"] == contact_id or not message.sender.email:
        return True
    ticket_contact = (
        await repo.contact_by_id(session, ticket["contact_id"]) if ticket["contact_id"] else None
    )
    return sender_may_join(
        message.sender.email,
        ticket_contact_email=ticket_contact["email"] if ticket_contact else None,
        thread_addresses=await repo.addresses_on_ticket(session, ticket["id"]),
    )


async def _candidate(
    session: AsyncSession, index: ThreadIndex, message: InboundMessage, contact_id: int
) -> tuple[Ticket | None, Ticket | None]:
    """(ticket to thread into, ticket it only resembles): a subject token or reference from
    a sender who does not belong on that ticket opens a new ticket flagged as a possible
    duplicate instead of joining someone else's thread."""
    ticket = index.by_reference(message)
    if ticket is not None:
        if "id" not in ticket or await _sender_belongs(session, message, contact_id, ticket):
            return ticket, None
        return None, ticket
    return index.by_conversation(message), None


def _open(
    catalog: Catalog,
    message: InboundMessage,
    contact: tuple[int, int | None],
    now: datetime,
    **links: Any,
) -> Ticket:
    contact_id, company_id = contact
    return {
        "subject": new_ticket_subject(message),
        "description": message.text,
        "status": TicketStatus.OPEN.value,
        "channel": message.channel.value,
        "channel_account": message.channel_account,
        "conversation_key": conversation_key(message),
        "contact_id": contact_id,
        "created_at": now,
        "updated_at": now,
        "last_customer_message_at": now,
        "resolved_at": None,
        "closed_at": None,
        "status_id": catalog.default_status(TicketStatus.OPEN).id,
        "priority_id": catalog.default_priority_id,
        "company_id": company_id,
        "open_since": now,
        "worked_seconds": 0.0,
        "reopen_count": 0,
        **links,
    }


async def _plan(
    session: AsyncSession,
    catalog: Catalog,
    messages: Sequence[InboundMessage],
    now: datetime,
    window: timedelta,
) -> list[_Step]:
    contacts = await resolve_contacts(session, messages)
    index = await ThreadIndex.load(session, messages)
    steps: list[_Step] = []
    for message, contact in zip(messages, contacts, strict=True):
        contact_id = contact[0]
        candidate, resembled = await _candidate(session, index, message, contact_id)
        decision = decide(candidate, message, now=now, reopen_window=window)
        if decision.action in (Action.NEW, Action.FOLLOW_UP):
            ticket = _open(
                catalog,
                message,
                contact,
                now,
                follow_up_of_id=candidate["id"] if candidate else None,
                possible_duplicate_of_id=resembled["id"] if resembled else None,
            )
            index.opened(ticket)
            steps.append(_Step(message, contact_id, ticket, opened=True))
        else:
            assert decision.ticket is not None
            ticket = decision.ticket
            step = _Step(message, contact_id, ticket, opened=False)
            if decision.new_status and decision.new_status != ticket["status"]:
                step.status_change = (ticket["status"], decision.new_status)
                status_id = catalog.default_status(decision.new_status).id
                before = dict(ticket)
                ticket.update(enter(ticket, decision.new_status, status_id, now))
                step.audit = [
                    FieldChange(f, before[f], ticket[f])
                    for f in ("status", "status_id")
                    if before[f] != ticket[f]
                ]
            ticket["updated_at"] = now
            if not message.auto_submitted:
                ticket["last_customer_message_at"] = now
            steps.append(step)
        index.stored(message, ticket)
    return steps


async def _write(
    session: AsyncSession,
    catalog: Catalog,
    steps: list[_Step],
    result: IngestResult,
    now: datetime,
) -> None:
    opened = [s.ticket for s in steps if s.opened]
    ids = await repo.allocate_ids(session, "tickets_id_seq", len(opened))
    numbers = await repo.allocate_ids(session, "ticket_number_seq", len(opened))
    for ticket, ticket_id, number in zip(opened, ids, numbers, strict=True):
        ticket.update(id=ticket_id, number=number)
    routing = await route_new_tickets(session, opened, SNAPSHOTS)
    await repo.insert_rows(session, repo.tickets, opened)
    await routing.write_after_insert(session, result.audit, now)

    message_ids = await repo.allocate_ids(session, "messages_id_seq", len(steps))
    rows = []
    touched: dict[int, Ticket] = {}
    for step, message_id in zip(steps, message_ids, strict=True):
        message, ticket = step.message, step.ticket
        rows.append({**message_row(message, ticket["id"], step.contact_id), "id": message_id})
        if step.opened:
            result.created += 1
            result.events.append(event(catalog, TicketEventKind.TICKET_CREATED, ticket, message))
            if (routed := routing.details(ticket["id"])) is not None:
                kind = TicketEventKind.RESPONSIBLE_CHANGED
                result.events.append(event(catalog, kind, ticket, message, details=routed))
        else:
            result.appended += 1
            if step.status_change:
                previous, status = step.status_change
                result.reopened += previous in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
                result.audit.extend(
                    audit_rows(ticket["id"], CUSTOMER, step.audit, now, "customer message")
                )
                result.events.append(
                    event(
                        catalog,
                        TicketEventKind.STATUS_CHANGED,
                        ticket,
                        message,
                        status=status,
                        previous_status=previous,
                    )
                )
            if ticket["id"] not in {t["id"] for t in opened}:
                touched[ticket["id"]] = ticket
        result.events.append(
            event(catalog, TicketEventKind.MESSAGE_ADDED, ticket, message, message_id=message_id)
        )
    await repo.insert_rows(session, repo.messages, rows)
    changed = {s.ticket["id"] for s in steps if s.status_change and not s.opened}
    await batch.update_tickets(
        session, [t for t in touched.values() if t["id"] in changed], batch.STATUS_COLUMNS
    )
    await batch.update_tickets(
        session, [t for t in touched.values() if t["id"] not in changed], batch.TOUCH_COLUMNS
    )
    await insert_audit(session, result.audit)


async def ingest_batch(
    session: AsyncSession,
    messages: Sequence[InboundMessage],
    *,
    reopen_window: timedelta,
    now: datetime | None = None,
) -> IngestResult:
    """Store a batch inside the caller's transaction; the caller commits.

    A unique violation on the idempotency key (another replica stored the same message
    a moment ago) aborts the transaction; the batch's retry then drops that message.
    """
    now = now or datetime.now(UTC)
    result = IngestResult()
    seen = await repo.existing_idempotency_keys(session, [m.idempotency_key for m in messages])
    fresh: list[InboundMessage] = []
    catalog = await load_catalog(session) if len(seen) < len(messages) else None
    for message in messages:
        if message.idempotency_key in seen:
            result.duplicates += 1
            continue
        seen.add(message.idempotency_key)
        assert catalog is not None
        if message.is_bounce and await ingest_bounce(session, catalog, message, result):
            continue
        fresh.append(message)
    if fresh:
        assert catalog is not None
        steps = await _plan(session, catalog, fresh, now, reopen_window)
        await _write(session, catalog, steps, result, now)
    result.outbox_ids = await repo.add_outbox(
        session, [(TICKET_EVENTS.name, e.model_dump_json()) for e in result.events]
    )
    log.info(
        "inbound_batch_stored",
        received=len(messages),
        created=result.created,
        appended=result.appended,
        reopened=result.reopened,
        duplicates=result.duplicates,
    )
    return result
