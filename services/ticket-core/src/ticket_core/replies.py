"""Agent replies and internal notes.

A public reply is stored with delivery state ``queued`` and published (through the
outbox) as an ``OutboundMessage`` on the channel it goes out on; the notifier sends it
and reports back with delivery events. Email replies carry our subject token, a
Message-ID we record (so the customer's answer threads by In-Reply-To) and the thread's
References. A public reply is the ticket's first response when it has none yet. Tickets of
an internal type take internal notes only: their customers never hear of them. Agents
@mentioned in a note or reply are announced by an ``agent.mentioned`` event (``mentions.py``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from helpdesk_common import correlation
from helpdesk_common.records import (
    AttachmentRef,
    Channel,
    DeliveryState,
    OutboundMessage,
    TicketEvent,
    TicketEventKind,
    new_id,
)
from helpdesk_common.topics import OUTBOUND_MESSAGES, TICKET_EVENTS
from sqlalchemy.ext.asyncio import AsyncSession

from . import repository as repo
from .catalog import ticket_is_internal
from .inbound_rows import SENDER_EMAIL, SENDER_ID, SENDER_PHONE
from .mentions import mention_event, mentioned_agents
from .models import MessageKind
from .threading import conversation_peer

_PREFIXES = re.compile(
    r"^\s*((re|fw|fwd|aw|wg|ответ|отв|пересл)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE
)
_TOKEN = re.compile(r"\s*\[\s*#\s*\d+\s*\]\s*")
_CHAT_CHANNELS = frozenset({Channel.TELEGRAM, Channel.VK})
# Channels that cannot carry a reply: answer by email instead.
_REPLY_CHANNEL = {Channel.WEBFORM: Channel.EMAIL}


class ReplyError(ValueError):
    """The reply cannot be sent as asked (the API answers 4xx with this text)."""


class TicketNotFound(LookupError):
    pass


@dataclass(frozen=True)
class ReplyRequest:
    text: str
    html: str | None = None
    internal: bool = False
    channel: Channel | None = None
    attachments: tuple[AttachmentRef, ...] = ()
    automatic: bool = False  # sent by the system (a trigger): Auto-Submitted on email
    author_agent_id: int | None = None  # the agent who wrote it (not notified of a self-mention)


@dataclass(frozen=True)
class ReplySettings:
    email_domain: str
    email_account: str
    """Channel account replies go out on when the ticket did not come in by email."""


def reply_subject(subject: str, number: int) -> str:
    bare = _TOKEN.sub(" ", _PREFIXES.sub("", subject)).strip() or "Your request"
    return f"Re: {bare} [#{number}]"


def new_email_message_id(number: int, domain: str) -> str:
    return f"<{uuid.uuid4().hex}.t{number}@{domain}>"


async def _contactless_recipient(
    session: AsyncSession, ticket: dict[str, Any], channel: Channel
) -> str:
    """A ticket without a contact (its sender was unknown and its account creates no
    contacts) is answered to the sender kept on its latest customer message."""
    sender = await repo.latest_sender_fields(session, ticket["id"])
    if channel is Channel.EMAIL:
        key = SENDER_EMAIL
    elif channel is Channel.SMS:
        key = SENDER_PHONE
    else:
        key = SENDER_ID if channel.value == ticket["channel"] else ""
    if not sender.get(key):
        raise ReplyError(f"the ticket has no contact and no sender reachable on {channel.value}")
    return sender[key]


async def _recipient(session: AsyncSession, ticket: dict[str, Any], channel: Channel) -> str:
    if (
        channel in _CHAT_CHANNELS
        and channel.value == ticket["channel"]
        and ticket["conversation_key"]
    ):
        # Answer in the chat the ticket came from: a group chat stays a group chat.
        return conversation_peer(ticket["conversation_key"])
    contact_id = ticket["contact_id"]
    if contact_id is None:
        return await _contactless_recipient(session, ticket, channel)
    if channel is Channel.EMAIL:
        contact = await repo.contact_by_id(session, contact_id)
        if contact and contact["email"]:
            return str(contact["email"])
        raise ReplyError("the contact has no email address")
    if channel is Channel.SMS:
        value = await repo.identity_value(session, contact_id, "phone")
    else:
        value = await repo.identity_value(session, contact_id, channel.value)
    if value is None:
        raise ReplyError(f"the contact is not reachable on {channel.value}")
    return value


async def add_reply(
    session: AsyncSession,
    ticket_id: int,
    request: ReplyRequest,
    settings: ReplySettings,
    event_fields: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[int]]:
    """Store a reply or note in the caller's transaction; returns the message row and outbox
    ids. ``event_fields`` go into the ticket event (a trigger's depth and details)."""
    ticket = await repo.ticket_by_id(session, ticket_id)
    if ticket is None:
        raise TicketNotFound(ticket_id)
    if not request.text.strip():
        raise ReplyError("the reply text is empty")
    now = datetime.now(UTC)
    row: dict[str, Any] = {
        "ticket_id": ticket_id,
        "channel": ticket["channel"],
        "text": request.text,
        "html": request.html,
        "attachments": [a.model_dump(mode="json") for a in request.attachments],
        "created_at": now,
        "author_agent_id": request.author_agent_id,
    }
    outbound: OutboundMessage | None = None
    internal_ticket = await ticket_is_internal(session, ticket["type_id"])
    if request.internal:
        row["kind"] = MessageKind.INTERNAL_NOTE
    elif internal_ticket:
        raise ReplyError("the ticket is internal: add an internal note instead of a reply")
    else:
        origin = Channel(ticket["channel"])
        channel = request.channel or _REPLY_CHANNEL.get(origin, origin)
        recipient = await _recipient(session, ticket, channel)
        account = ticket["channel_account"] if channel is origin else settings.email_account
        thread = await repo.thread_message_ids(session, ticket_id)
        customer_ids = [m for kind, m in thread if kind == MessageKind.CUSTOMER]
        outbound = OutboundMessage(
            ticket_id=ticket_id,
            channel=channel,
            channel_account=account,
            recipient=recipient,
            subject=reply_subject(ticket["subject"], ticket["number"]),
            text=request.text,
            html=request.html,
            attachments=request.attachments,
            in_reply_to=customer_ids[-1] if customer_ids else None,
            references=tuple(m for _, m in thread),
            email_message_id=(
                new_email_message_id(ticket["number"], settings.email_domain)
                if channel is Channel.EMAIL
                else None
            ),
            automatic=request.automatic,
        )
        row.update(
            kind=MessageKind.PUBLIC_REPLY,
            channel=channel.value,
            subject=outbound.subject,
            outbound_id=outbound.outbound_id,
            external_message_id=outbound.email_message_id,
            recipients=[recipient],
            delivery_state=DeliveryState.QUEUED.value,
        )
    message_id = await repo.insert_message(session, row)
    assert message_id is not None  # replies carry no idempotency key
    await repo.touch_ticket(
        session, ticket_id, now, customer=False, first_response=outbound is not None
    )
    row = await repo.message_by_id(session, message_id)
    fields = dict(event_fields or {})
    if fields.get("actor_agent_id") is None:
        # The writer acted: the notifier never tells an agent of their own reply or note.
        fields["actor_agent_id"] = request.author_agent_id
    event = TicketEvent(
        kind=TicketEventKind.MESSAGE_ADDED,
        ticket_id=ticket_id,
        ticket_number=ticket["number"],
        contact_id=ticket["contact_id"],
        message_id=message_id,
        channel=Channel(row["channel"]),
        status=ticket["status"],
        internal=internal_ticket,
        correlation_id=correlation.current() or new_id(),
        **fields,
    )
    pending = [(TICKET_EVENTS.name, event.model_dump_json())]
    mentions = await mentioned_agents(session, request.text)
    mentioned = [a for a in mentions if a != request.author_agent_id]
    if mentioned:
        mention = mention_event(
            ticket,
            mentioned,
            message_id,
            row["channel"],
            internal=internal_ticket,
            actor_agent_id=request.author_agent_id,
        )
        pending.append((TICKET_EVENTS.name, mention.model_dump_json()))
    if outbound is not None:
        outbound = outbound.model_copy(
            update={"message_id": message_id, "correlation_id": event.correlation_id}
        )
        pending.append((OUTBOUND_MESSAGES.name, outbound.model_dump_json()))
    return row, await repo.add_outbox(session, pending)
