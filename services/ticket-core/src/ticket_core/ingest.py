"""Inbound messages become contacts, tickets and messages: one transaction per batch.

Idempotent: a message whose idempotency key is stored is acknowledged and dropped.
Every change is announced by ticket events written to the outbox in the same
transaction, so an event is never lost when the process dies after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from helpdesk_common import correlation
from helpdesk_common.logs import get_logger
from helpdesk_common.records import InboundMessage, TicketEvent, TicketEventKind
from helpdesk_common.topics import TICKET_EVENTS
from sqlalchemy.ext.asyncio import AsyncSession

from . import repository as repo
from .models import MessageKind, TicketStatus
from .threading import (
    Action,
    conversation_key,
    decide,
    new_ticket_subject,
    reference_ids,
    sender_may_join,
)

log = get_logger(__name__)


class ConcurrentDuplicate(Exception):
    """Another transaction stored the same idempotency key first; retrying the batch drops it."""


@dataclass
class IngestResult:
    created: int = 0
    appended: int = 0
    reopened: int = 0
    duplicates: int = 0
    events: list[TicketEvent] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)


def sender_identities(message: InboundMessage) -> list[repo.Identity]:
    """Identities in order of trust: the channel's own user id, then email, then phone."""
    sender = message.sender
    found: list[repo.Identity] = [(message.channel.value, sender.channel_user_id.lower())]
    if sender.email:
        found.append(("email", sender.email.strip().lower()))
    if sender.phone:
        found.append(("phone", sender.phone.strip()))
    return list(dict.fromkeys(found))


async def identify_contact(session: AsyncSession, message: InboundMessage) -> int:
    known = sender_identities(message)
    sender = message.sender
    contact_id = await repo.contact_for_identities(session, known)
    if contact_id is None:
        contact_id = await repo.create_contact(
            session, display_name=sender.display_name, email=sender.email, phone=sender.phone
        )
    else:
        await repo.fill_contact_gaps(
            session,
            contact_id,
            email=sender.email,
            phone=sender.phone,
            display_name=sender.display_name,
        )
    await repo.add_identities(session, contact_id, known)
    return contact_id


async def _candidate_ticket(
    session: AsyncSession, message: InboundMessage, contact_id: int
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(ticket to thread into, ticket it only resembles): a subject token or reference from
    a sender who does not belong on that ticket opens a new ticket flagged as a possible
    duplicate instead of joining someone else's thread."""
    ticket = None
    if message.thread.ticket_number is not None:
        ticket = await repo.ticket_by_number(session, message.thread.ticket_number)
    if ticket is None:
        ticket = await repo.ticket_by_message_ids(session, reference_ids(message))
    if ticket is not None:
        if await _sender_belongs(session, message, contact_id, ticket):
            return ticket, None
        return None, ticket
    key = conversation_key(message)
    return (await repo.latest_ticket_for_conversation(session, key) if key else None), None


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


async def _ingest_bounce(
    session: AsyncSession, message: InboundMessage, result: IngestResult
) -> bool:
    """A bounce of one of our mails: a system note on that ticket and a failed delivery.
    Returns False when the original mail is not ours (then it is threaded like any mail)."""
    original_id = message.bounce.original_message_id if message.bounce else None
    original = await repo.message_by_external_id(session, original_id) if original_id else None
    if original is None:
        return False
    assert message.bounce is not None
    reason = (
        f"bounced: {message.bounce.recipient or 'recipient'} {message.bounce.status or ''}".strip()
    )
    await repo.set_delivery_by_message_id(session, original["id"], "failed", reason)
    row = _message_row(message, original["ticket_id"], None)
    row.update(kind=MessageKind.SYSTEM, text=f"Delivery failed ({reason}).", full_text=message.text)
    message_id = await repo.insert_message(session, row)
    if message_id is None:
        raise ConcurrentDuplicate(message.idempotency_key)
    ticket = await repo.ticket_by_id(session, original["ticket_id"])
    assert ticket is not None
    result.appended += 1
    result.events.append(
        _event(TicketEventKind.MESSAGE_ADDED, ticket, message, message_id=message_id)
    )
    log.info("bounce_recorded", ticket_id=ticket["id"], message_id=original["id"])
    return True


def _event(
    kind: TicketEventKind, ticket: dict[str, Any], message: InboundMessage, **extra: Any
) -> TicketEvent:
    return TicketEvent(
        kind=kind,
        ticket_id=ticket["id"],
        ticket_number=ticket["number"],
        contact_id=ticket["contact_id"],
        channel=message.channel,
        status=extra.pop("status", ticket["status"]),
        correlation_id=message.correlation_id,
        **extra,
    )


async def _ingest_one(
    session: AsyncSession,
    message: InboundMessage,
    result: IngestResult,
    now: datetime,
    window: timedelta,
) -> None:
    if message.is_bounce and await _ingest_bounce(session, message, result):
        return
    contact_id = await identify_contact(session, message)
    candidate, resembled = await _candidate_ticket(session, message, contact_id)
    decision = decide(candidate, message, now=now, reopen_window=window)
    ticket = decision.ticket
    if decision.action in (Action.NEW, Action.FOLLOW_UP):
        ticket = await repo.insert_ticket(
            session,
            {
                "subject": new_ticket_subject(message),
                "description": message.text,
                "status": TicketStatus.OPEN,
                "channel": message.channel.value,
                "channel_account": message.channel_account,
                "conversation_key": conversation_key(message),
                "contact_id": contact_id,
                "follow_up_of_id": ticket["id"] if ticket else None,
                "possible_duplicate_of_id": resembled["id"] if resembled else None,
                "last_customer_message_at": now,
            },
        )
        result.created += 1
        result.events.append(_event(TicketEventKind.TICKET_CREATED, ticket, message))
    else:
        assert ticket is not None
        result.appended += 1
        if decision.new_status and decision.new_status != ticket["status"]:
            await repo.set_ticket_status(session, ticket["id"], decision.new_status, now)
            result.reopened += decision.action is Action.REOPEN
            result.events.append(
                _event(
                    TicketEventKind.STATUS_CHANGED,
                    ticket,
                    message,
                    status=decision.new_status,
                    previous_status=ticket["status"],
                )
            )
            ticket = {**ticket, "status": decision.new_status}
        await repo.touch_ticket(session, ticket["id"], now, customer=not message.auto_submitted)

    message_id = await repo.insert_message(session, _message_row(message, ticket["id"], contact_id))
    if message_id is None:
        raise ConcurrentDuplicate(message.idempotency_key)
    result.events.append(
        _event(TicketEventKind.MESSAGE_ADDED, ticket, message, message_id=message_id)
    )
    log.info(
        "inbound_stored",
        action=decision.action.value,
        ticket_id=ticket["id"],
        message_id=message_id,
        channel=message.channel.value,
    )


def _message_row(message: InboundMessage, ticket_id: int, contact_id: int | None) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "kind": MessageKind.CUSTOMER,
        "channel": message.channel.value,
        "author_contact_id": contact_id,
        "idempotency_key": message.idempotency_key,
        "external_message_id": message.thread.message_id,
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
        "full_text": message.full_text,
        "attachments": [a.model_dump(mode="json") for a in message.attachments],
        "fields": message.fields,
        "recipients": list(message.recipients),
        "raw_sha256": message.raw.sha256 if message.raw else None,
        "auto_submitted": message.auto_submitted,
        "is_bounce": message.is_bounce,
        "correlation_id": message.correlation_id,
        "sent_at": message.sent_at,
        "received_at": message.received_at,
    }


async def ingest_batch(
    session: AsyncSession,
    messages: Sequence[InboundMessage],
    *,
    reopen_window: timedelta,
    now: datetime | None = None,
) -> IngestResult:
    """Store a batch inside the caller's transaction; the caller commits."""
    now = now or datetime.now(UTC)
    result = IngestResult()
    seen = await repo.existing_idempotency_keys(session, [m.idempotency_key for m in messages])
    for message in messages:
        if message.idempotency_key in seen:
            result.duplicates += 1
            continue
        seen.add(message.idempotency_key)
        with correlation.bound(message.correlation_id):
            await _ingest_one(session, message, result, now, reopen_window)
    if result.duplicates:
        log.info("inbound_duplicates_dropped", count=result.duplicates)
    result.outbox_ids = await repo.add_outbox(
        session, [(TICKET_EVENTS.name, e.model_dump_json()) for e in result.events]
    )
    return result
