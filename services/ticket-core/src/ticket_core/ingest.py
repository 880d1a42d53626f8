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
from .threading import Action, conversation_key, decide, new_ticket_subject, reference_ids

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
    session: AsyncSession, message: InboundMessage
) -> dict[str, Any] | None:
    if message.thread.ticket_number is not None:
        ticket = await repo.ticket_by_number(session, message.thread.ticket_number)
        if ticket is not None:
            return ticket
    ticket = await repo.ticket_by_message_ids(session, reference_ids(message))
    if ticket is not None:
        return ticket
    key = conversation_key(message)
    return await repo.latest_ticket_for_conversation(session, key) if key else None


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
    contact_id = await identify_contact(session, message)
    decision = decide(
        await _candidate_ticket(session, message), message, now=now, reopen_window=window
    )
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


def _message_row(message: InboundMessage, ticket_id: int, contact_id: int) -> dict[str, Any]:
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
