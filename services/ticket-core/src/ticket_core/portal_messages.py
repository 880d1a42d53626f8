"""A portal contact's message as an ``InboundMessage``, pure: the portal writes the way a
channel does, so ingestion's rules apply unchanged (threading, reopen window, follow-up
tickets on closed ones, audit as ``customer``, events through the outbox).

- A reply names its ticket by number (like an email subject token) on the web-form
  channel, account ``TICKET_CORE_PORTAL_CHANNEL_ACCOUNT``.
- A new ticket runs in a conversation of its own (a fresh conversation id), so it never
  appends to an earlier portal ticket.
- The idempotency key is ``portal:<contact>:<Idempotency-Key>`` when the client gives the
  header (a retried request is stored once), else a random one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from helpdesk_common.records import (
    AttachmentRef,
    Channel,
    InboundMessage,
    SenderIdentity,
    ThreadHints,
)

from .portal_repo import PortalUser


def idempotency_key(user: PortalUser, client_key: str | None) -> str:
    suffix = client_key.strip()[:200] if client_key and client_key.strip() else uuid.uuid4().hex
    return f"portal:{user.contact_id}:{suffix}"


def _sender(user: PortalUser) -> SenderIdentity:
    return SenderIdentity(channel_user_id=user.email, email=user.email, display_name=user.name)


def reply(
    user: PortalUser,
    account: str,
    ticket_number: int,
    text: str,
    key: str,
    attachments: Sequence[AttachmentRef] = (),
) -> InboundMessage:
    return InboundMessage(
        idempotency_key=key,
        channel=Channel.WEBFORM,
        channel_account=account,
        sender=_sender(user),
        thread=ThreadHints(
            conversation_id=f"portal-ticket-{ticket_number}", ticket_number=ticket_number
        ),
        text=text,
        attachments=tuple(attachments),
    )


def new_ticket(
    user: PortalUser,
    account: str,
    subject: str,
    text: str,
    key: str,
    attachments: Sequence[AttachmentRef] = (),
) -> InboundMessage:
    return InboundMessage(
        idempotency_key=key,
        channel=Channel.WEBFORM,
        channel_account=account,
        sender=_sender(user),
        thread=ThreadHints(conversation_id=f"portal-{uuid.uuid4().hex}"),
        subject=subject,
        text=text,
        attachments=tuple(attachments),
    )
