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
configuration (catalogue, SLA rules, account options, agents' addresses, company
domains) comes from ``ingest_config.py``, re-read only when its version moved; the
audit rows cost one statement per batch.

Per channel account (``account_options.py``): the reopen window of
the account a message arrived on, the default group (the last step of routing's default
chain), and whether an unknown sender becomes a contact (if not, the ticket has no
contact and the sender is kept on the message). Mail from an active agent's address
that threads into a ticket is that agent's comment (public): it reopens nothing, is no
customer reply and makes no contact.
New tickets are routed before they are inserted (``routing_writer``: responsible agent
or group, observers; audited by ``system``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from helpdesk_common.logs import get_logger
from helpdesk_common.records import Channel, InboundMessage, TicketEventKind
from helpdesk_common.topics import TICKET_EVENTS
from sqlalchemy.ext.asyncio import AsyncSession

from . import batch_repo as batch
from . import repository as repo
from .audit import CUSTOMER, FieldChange, audit_rows, insert_audit
from .bounces import ingest_bounce
from .catalog import Catalog
from .contacts import ContactPlan, ContactRef, contact_id, plan_contacts, sender_identities
from .inbound_rows import ConcurrentDuplicate, IngestResult, event, message_row
from .ingest_config import INGEST_CONFIG, IngestConfig
from .models import MessageKind, TicketStatus
from .routing_cache import SNAPSHOTS
from .routing_writer import route_new_tickets
from .sla_hooks import SlaContext
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
    contact: ContactRef | None
    ticket: Ticket
    opened: bool
    status_change: tuple[str, str] | None = None
    audit: list[FieldChange] = field(default_factory=list)
    agent_id: int | None = None
    """Set for an agent's mail recorded as their comment on ``ticket``."""


async def _sender_belongs(
    session: AsyncSession, message: InboundMessage, contact: ContactRef | None, ticket: Ticket
) -> bool:
    if (contact is not None and ticket["contact_id"] == contact) or not message.sender.email:
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
    session: AsyncSession, index: ThreadIndex, message: InboundMessage, contact: ContactRef | None
) -> tuple[Ticket | None, Ticket | None]:
    """(ticket to thread into, ticket it only resembles): a subject token or reference from
    a sender who does not belong on that ticket opens a new ticket flagged as a possible
    duplicate instead of joining someone else's thread."""
    ticket = index.by_reference(message)
    if ticket is not None:
        if "id" not in ticket or await _sender_belongs(session, message, contact, ticket):
            return ticket, None
        return None, ticket
    return index.by_conversation(message), None


def _open(
    catalog: Catalog,
    message: InboundMessage,
    contact: tuple[ContactRef | None, int | None],
    now: datetime,
    **links: Any,
) -> Ticket:
    """A new ticket; its ``contact_id`` is a ``ContactRef`` until the write phase."""
    contact_ref, company_id = contact
    return {
        "subject": new_ticket_subject(message),
        "description": message.text,
        "status": TicketStatus.OPEN.value,
        "channel": message.channel.value,
        "channel_account": message.channel_account,
        "conversation_key": conversation_key(message),
        "contact_id": contact_ref,
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
        "responsible_agent_id": None,
        "responsible_group_id": None,
        **links,
    }


def _agent_authors(
    messages: Sequence[InboundMessage], found: Mapping[str, int]
) -> list[int | None]:
    """The active agent whose address each mail is from (None for other messages);
    ``found``: the active agents by lower-case address."""
    return [
        found.get(m.sender.email.strip().lower())
        if m.channel is Channel.EMAIL and m.sender.email
        else None
        for m in messages
    ]


def _contacts(
    messages: Sequence[InboundMessage],
    authors: list[int | None],
    config: IngestConfig,
    owners: batch.Owners,
) -> tuple[ContactPlan, list[tuple[ContactRef | None, int | None]]]:
    """Contacts of the customers' messages (written in the write phase); agents' mail
    gets none (never a contact for an agent)."""
    book = config.book
    customers = [m for m, a in zip(messages, authors, strict=True) if a is None]
    plan = plan_contacts(
        customers,
        [book.for_message(m).create_unknown_contacts for m in customers],
        config.companies_by_domain,
        owners,
    )
    resolved = iter(plan.resolved)
    return plan, [next(resolved) if a is None else (None, None) for a in authors]


def _agent_comment(message: InboundMessage, ticket: Ticket, agent_id: int, now: datetime) -> _Step:
    ticket["updated_at"] = now
    return _Step(message, None, ticket, opened=False, agent_id=agent_id)


async def _plan(
    session: AsyncSession,
    config: IngestConfig,
    messages: Sequence[InboundMessage],
    owners: batch.Owners,
    now: datetime,
) -> tuple[ContactPlan, list[_Step]]:
    catalog, book = config.catalog, config.book
    authors = _agent_authors(messages, config.agents_by_email)
    contact_plan, contacts = _contacts(messages, authors, config, owners)
    index = await ThreadIndex.load(session, messages)
    steps: list[_Step] = []
    for message, contact, agent_id in zip(messages, contacts, authors, strict=True):
        options = book.for_message(message)
        if agent_id is not None and (commented := index.by_reference(message)) is not None:
            steps.append(_agent_comment(message, commented, agent_id, now))
            index.stored(message, commented)
            continue
        candidate, resembled = await _candidate(session, index, message, contact[0])
        decision = decide(candidate, message, now=now, reopen_window=options.reopen_window)
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
            steps.append(_Step(message, contact[0], ticket, opened=True))
        else:
            assert decision.ticket is not None
            ticket = decision.ticket
            step = _Step(message, contact[0], ticket, opened=False)
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
    return contact_plan, steps


async def _write(
    session: AsyncSession,
    config: IngestConfig,
    contact_plan: ContactPlan,
    steps: list[_Step],
    result: IngestResult,
    now: datetime,
) -> None:
    catalog, book = config.catalog, config.book
    opened = [s.ticket for s in steps if s.opened]
    sla = SlaContext(session, config.sla)
    await sla.plan_new(opened)  # planned reaction and resolution (sla_hooks.py)
    ids, numbers, message_ids, contact_ids = await repo.allocate_id_sets(
        session,
        [
            ("tickets_id_seq", len(opened)),
            ("ticket_number_seq", len(opened)),
            ("messages_id_seq", len(steps)),
            ("contacts_id_seq", len(contact_plan.new_contacts)),
        ],
    )
    await contact_plan.write(session, contact_ids)
    for ticket, ticket_id, number in zip(opened, ids, numbers, strict=True):
        ticket.update(id=ticket_id, number=number, contact_id=contact_id(ticket["contact_id"]))
    routing = await route_new_tickets(session, opened, SNAPSHOTS, book.default_groups())
    await repo.insert_rows(session, repo.tickets, opened)
    await routing.write_after_insert(session, result.audit, now)

    opened_ids = {t["id"] for t in opened}
    rows = []
    touched: dict[int, Ticket] = {}
    answered: set[int] = set()  # tickets an agent's mail gave a (first) response
    for step, message_id in zip(steps, message_ids, strict=True):
        message, ticket = step.message, step.ticket
        if step.agent_id is not None:
            rows.append(_comment(catalog, step, message_id, result))
            if not message.auto_submitted and rows[-1]["kind"] == MessageKind.PUBLIC_REPLY:
                answered.add(ticket["id"])
            if ticket["id"] not in opened_ids:
                touched[ticket["id"]] = ticket
            continue
        rows.append(
            {**message_row(message, ticket["id"], contact_id(step.contact)), "id": message_id}
        )
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
                step.audit.extend(await sla.status_moved(previous, ticket, now))
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
            if ticket["id"] not in opened_ids:
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
    await batch.set_first_response(session, answered, now)
    await insert_audit(session, result.audit)


def _comment(
    catalog: Catalog, step: _Step, message_id: int, result: IngestResult
) -> dict[str, Any]:
    """An agent's mail as their comment (public, unless the ticket is internal): its
    message row; its event goes to ``result``."""
    assert step.agent_id is not None
    internal = catalog.is_internal(step.ticket.get("type_id"))
    kind = MessageKind.INTERNAL_NOTE if internal else MessageKind.PUBLIC_REPLY
    row = message_row(
        step.message, step.ticket["id"], None, kind=kind, author_agent_id=step.agent_id
    )
    result.appended += 1
    result.events.append(
        event(
            catalog,
            TicketEventKind.MESSAGE_ADDED,
            step.ticket,
            step.message,
            message_id=message_id,
            actor_agent_id=step.agent_id,
        )
    )
    return {**row, "id": message_id}


async def ingest_batch(
    session: AsyncSession,
    messages: Sequence[InboundMessage],
    *,
    reopen_window: timedelta,
    now: datetime | None = None,
) -> IngestResult:
    """Store a batch inside the caller's transaction; the caller commits.

    ``reopen_window`` is the default: an account's ``reopen_window_days`` overrides it.

    A unique violation on the idempotency key (another replica stored the same message
    a moment ago) aborts the transaction; the batch's retry then drops that message.
    """
    now = now or datetime.now(UTC)
    result = IngestResult()
    start = await batch.batch_start(
        session,
        [m.idempotency_key for m in messages],
        {i for m in messages for i in sender_identities(m)},
    )
    seen, version = start.stored_keys, start.config_version
    fresh: list[InboundMessage] = []
    config = (
        await INGEST_CONFIG.get(session, version, reopen_window)
        if len(seen) < len(messages)
        else None
    )
    for message in messages:
        if message.idempotency_key in seen:
            result.duplicates += 1
            continue
        seen.add(message.idempotency_key)
        assert config is not None
        if message.is_bounce and await ingest_bounce(session, config.catalog, message, result):
            continue
        fresh.append(message)
    if fresh:
        assert config is not None
        contact_plan, steps = await _plan(session, config, fresh, start.owners, now)
        await _write(session, config, contact_plan, steps, result, now)
    result.outbox_ids = await repo.add_outbox_run(
        session, TICKET_EVENTS.name, [e.model_dump_json() for e in result.events]
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
