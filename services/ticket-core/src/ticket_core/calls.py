"""Call records: completed calls from ``inbound.calls.v1`` stored on the caller's tickets.

A completed call (ringing and answered events are for agents' screens, not the record)
becomes a message of kind ``call`` whose ``fields`` hold the call's facts (id, direction,
numbers, extension, duration, missed, recording URL); its author is the caller's contact
(found by number, or created), so a contact's calls are the ``call`` messages they
authored. Where it goes is the phone account's rule (``config.answered`` /
``config.missed``, defaults ``open_or_new`` / ``call_back``):

- ``open_or_new``: the contact's open (or pending) ticket, else a new ticket;
- ``open_only``: the contact's open ticket, else no ticket (the contact is still made);
- ``new``: always a new ticket;
- ``call_back`` (missed incoming calls): a "Call back" ticket (an open one from the same
  number and account is reused rather than piled up);
- ``open_or_call_back``: the contact's open ticket, else a "Call back" ticket.

Idempotent on the event's key (the message's idempotency key); one transaction per
batch; ticket events go to the outbox in it. No schema change: a call is a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from helpdesk_common.consuming import Delivery
from helpdesk_common.logs import get_logger
from helpdesk_common.phone_accounts import PhoneAccountConfig
from helpdesk_common.records import CallEvent, CallKind, Channel, TicketEvent, TicketEventKind
from helpdesk_common.topics import TICKET_EVENTS
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import channel_accounts as accounts_store
from . import repository as repo
from .audit import insert_audit
from .call_contacts import OPEN_STATUSES, ensure_contact
from .catalog import Catalog, load_catalog
from .models import TicketStatus
from .outbox import OutboxRelay
from .routing_cache import SNAPSHOTS
from .routing_writer import route_new_tickets
from .sla_hooks import SlaContext

log = get_logger(__name__)
CALL_KIND = "call"
DEFAULT_RULES = PhoneAccountConfig(kind="pbx_webhook")


def caller_number(event: CallEvent) -> str:
    return event.from_number if event.direction == "inbound" else event.to_number


def call_text(event: CallEvent) -> str:
    number = caller_number(event)
    if event.missed:
        return f"Missed call from {number}"
    minutes, seconds = divmod(event.duration_seconds or 0, 60)
    way = "Incoming call from" if event.direction == "inbound" else "Outgoing call to"
    return f"{way} {number} ({minutes}:{seconds:02d})"


def call_fields(event: CallEvent) -> dict[str, str]:
    values: dict[str, Any] = {
        "call_id": event.call_id,
        "channel_account": event.channel_account,
        "direction": event.direction,
        "from": event.from_number,
        "to": event.to_number,
        "extension": event.extension,
        "duration_seconds": event.duration_seconds,
        "missed": "true" if event.missed else "false",
        "recording_url": event.recording_url,
        "ended_at": event.occurred_at.isoformat(),
    }
    return {k: str(v) for k, v in values.items() if v is not None}


def rule_for(event: CallEvent, config: PhoneAccountConfig) -> str:
    return config.missed if event.missed and event.direction == "inbound" else config.answered


async def _rules(session: AsyncSession, account: str) -> PhoneAccountConfig:
    row = await accounts_store.account_by_name(session, Channel.PHONE.value, account)
    if row is None:
        return DEFAULT_RULES
    try:
        return PhoneAccountConfig.model_validate(row["config"])
    except ValidationError:
        return DEFAULT_RULES


async def _open_ticket(
    session: AsyncSession, contact_id: int, conversation_key: str | None = None
) -> dict[str, Any] | None:
    t = repo.tickets.c
    query = select(repo.tickets).where(t.contact_id == contact_id, t.status.in_(OPEN_STATUSES))
    if conversation_key is not None:
        query = query.where(t.conversation_key == conversation_key)
    row = await session.execute(query.order_by(t.updated_at.desc()).limit(1))
    found = row.mappings().first()
    return dict(found) if found else None


async def _new_ticket(
    session: AsyncSession,
    catalog: Catalog,
    event: CallEvent,
    contact: dict[str, Any],
    subject: str,
    now: datetime,
) -> dict[str, Any]:
    [ticket_id] = await repo.allocate_ids(session, "tickets_id_seq", 1)
    [number] = await repo.allocate_ids(session, "ticket_number_seq", 1)
    ticket = {
        "id": ticket_id,
        "number": number,
        "subject": subject,
        "description": call_text(event),
        "status": TicketStatus.OPEN.value,
        "channel": Channel.PHONE.value,
        "channel_account": event.channel_account,
        "conversation_key": f"phone:{event.channel_account}:{caller_number(event)}",
        "contact_id": contact["id"],
        "created_at": now,
        "updated_at": now,
        "last_customer_message_at": now,
        "status_id": catalog.default_status(TicketStatus.OPEN).id,
        "priority_id": catalog.default_priority_id,
        "company_id": contact.get("company_id"),
        "open_since": now,
        "worked_seconds": 0.0,
        "reopen_count": 0,
    }
    await SlaContext(session).plan_new([ticket])  # planned reaction and resolution
    routing = await route_new_tickets(session, [ticket], SNAPSHOTS)
    await repo.insert_rows(session, repo.tickets, [ticket])
    audit: list[dict[str, Any]] = []
    await routing.write_after_insert(session, audit, now)
    await insert_audit(session, audit)
    return ticket


async def _target(
    session: AsyncSession,
    catalog: Catalog,
    event: CallEvent,
    contact: dict[str, Any],
    rule: str,
    now: datetime,
) -> tuple[dict[str, Any] | None, bool]:
    """(ticket, opened now) for the call by the rule; (None, False): no ticket."""
    number = caller_number(event)
    if rule == "call_back":
        key = f"phone:{event.channel_account}:{number}"
        existing = await _open_ticket(session, contact["id"], key)
        if existing is not None and existing["subject"].startswith("Call back"):
            return existing, False
        subject = f"Call back: missed call from {number}"
        return await _new_ticket(session, catalog, event, contact, subject, now), True
    if rule != "new":
        existing = await _open_ticket(session, contact["id"])
        if existing is not None:
            return existing, False
        if rule == "open_only":
            return None, False
    if rule == "open_or_call_back":
        subject = f"Call back: missed call from {number}"
    else:
        way = "Call from" if event.direction == "inbound" else "Call to"
        subject = f"{way} {number}"
    return await _new_ticket(session, catalog, event, contact, subject, now), True


def _ticket_event(
    catalog: Catalog, kind: TicketEventKind, ticket: dict[str, Any], event: CallEvent, **extra: Any
) -> TicketEvent:
    return TicketEvent(
        kind=kind,
        ticket_id=ticket["id"],
        ticket_number=ticket["number"],
        contact_id=ticket["contact_id"],
        channel=Channel.PHONE,
        status=ticket["status"],
        internal=catalog.is_internal(ticket.get("type_id")),
        correlation_id=event.correlation_id,
        **extra,
    )


async def store_calls(session: AsyncSession, events: Sequence[CallEvent]) -> list[int]:
    """Store completed calls in the caller's transaction; returns the outbox ids."""
    completed = [e for e in events if e.kind is CallKind.COMPLETED]
    seen = await repo.existing_idempotency_keys(session, [e.idempotency_key for e in completed])
    fresh = [e for e in completed if e.idempotency_key not in seen]
    if not fresh:
        return []
    catalog = await load_catalog(session)
    now = datetime.now(UTC)
    outbox: list[tuple[str, str]] = []
    for event in fresh:
        if event.idempotency_key in seen:
            continue
        seen.add(event.idempotency_key)
        config = await _rules(session, event.channel_account)
        contact = await ensure_contact(session, caller_number(event), config.match_digits)
        ticket, opened = await _target(
            session, catalog, event, contact, rule_for(event, config), now
        )
        if ticket is None:
            log.info("call_without_ticket", account=event.channel_account, rule="open_only")
            continue
        message_id = await repo.insert_message(
            session,
            {
                "ticket_id": ticket["id"],
                "kind": CALL_KIND,
                "channel": Channel.PHONE.value,
                "author_contact_id": contact["id"],
                "idempotency_key": event.idempotency_key,
                "text": call_text(event),
                "fields": call_fields(event),
                "correlation_id": event.correlation_id,
                "sent_at": event.occurred_at,
                "received_at": event.occurred_at,
            },
        )
        if message_id is None:
            continue  # stored meanwhile by another replica
        if not opened:
            await repo.touch_ticket(
                session, ticket["id"], now, customer=event.direction == "inbound"
            )
        else:
            created = _ticket_event(catalog, TicketEventKind.TICKET_CREATED, ticket, event)
            outbox.append((TICKET_EVENTS.name, created.model_dump_json()))
        added = _ticket_event(
            catalog, TicketEventKind.MESSAGE_ADDED, ticket, event, message_id=message_id
        )
        outbox.append((TICKET_EVENTS.name, added.model_dump_json()))
        log.info("call_recorded", ticket_id=ticket["id"], opened=opened, missed=event.missed)
    return await repo.add_outbox(session, outbox)


class CallEventsHandler:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], relay: OutboxRelay) -> None:
        self._sessions = sessions
        self._relay = relay

    async def __call__(self, batch: list[Delivery[CallEvent]]) -> None:
        async with self._sessions() as session, session.begin():
            await store_calls(session, [d.record for d in batch])
        self._relay.notify()
