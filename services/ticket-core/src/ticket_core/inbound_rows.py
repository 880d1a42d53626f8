"""What ingestion writes per message: the message row, the ticket events, the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from helpdesk_common.records import InboundMessage, TicketEvent, TicketEventKind

from .catalog import Catalog
from .models import MessageKind

Ticket = dict[str, Any]


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
    audit: list[dict[str, Any]] = field(default_factory=list)


def event(
    catalog: Catalog,
    kind: TicketEventKind,
    ticket: Ticket,
    message: InboundMessage,
    **extra: Any,
) -> TicketEvent:
    return TicketEvent(
        kind=kind,
        ticket_id=ticket["id"],
        ticket_number=ticket["number"],
        contact_id=ticket["contact_id"],
        channel=message.channel,
        status=extra.pop("status", ticket["status"]),
        internal=catalog.is_internal(ticket.get("type_id")),
        correlation_id=message.correlation_id,
        **extra,
    )


# Kept in ``messages.fields`` when a message has no author contact (an unknown sender of
# an account that creates no contacts, or one of our agents): who wrote, so that replies
# reach them and later mail from them is recognised on the thread.
SENDER_ID = "sender.id"
SENDER_EMAIL = "sender.email"
SENDER_PHONE = "sender.phone"
SENDER_NAME = "sender.name"


def sender_fields(message: InboundMessage) -> dict[str, str]:
    sender = message.sender
    values = {
        SENDER_ID: sender.channel_user_id,
        SENDER_EMAIL: sender.email.strip().lower() if sender.email else None,
        SENDER_PHONE: sender.phone,
        SENDER_NAME: sender.display_name or None,
    }
    return {k: v for k, v in values.items() if v}


def message_row(
    message: InboundMessage,
    ticket_id: int,
    contact_id: int | None,
    *,
    kind: MessageKind = MessageKind.CUSTOMER,
    author_agent_id: int | None = None,
) -> dict[str, Any]:
    fields = dict(message.fields)
    if contact_id is None:
        fields |= sender_fields(message)
    return {
        "ticket_id": ticket_id,
        "author_agent_id": author_agent_id,
        "kind": kind,
        "channel": message.channel.value,
        "author_contact_id": contact_id,
        "idempotency_key": message.idempotency_key,
        "external_message_id": message.thread.message_id,
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
        "full_text": message.full_text,
        "attachments": [a.model_dump(mode="json") for a in message.attachments],
        "fields": fields,
        "recipients": list(message.recipients),
        "raw_sha256": message.raw.sha256 if message.raw else None,
        "auto_submitted": message.auto_submitted,
        "is_bounce": message.is_bounce,
        "correlation_id": message.correlation_id,
        "sent_at": message.sent_at,
        "received_at": message.received_at,
    }
