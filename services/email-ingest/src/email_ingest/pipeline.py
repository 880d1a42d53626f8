"""Inbound mail pipeline: raw RFC 822 bytes -> ``InboundMessage``.

PLACEHOLDER being replaced by the full filter chain (parse -> loop/bounce/auto-reply
detection -> sender -> thread hints -> store). The signature below is the contract
the IMAP poller and the CLI use.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re

from helpdesk_common.blobstore import BlobStore
from helpdesk_common.records import Channel, InboundMessage, SenderIdentity, ThreadHints

from .context import MailboxContext


class Skip(Exception):
    """The mail is deliberately not published (e.g. a loop from our own address)."""


def idempotency_key(message_id: str | None, raw: bytes) -> str:
    """``email:mid:<Message-ID>`` (the same mail in two of our mailboxes is stored once),
    or ``email:sha:<sha256 of the raw bytes>`` for a mail without a Message-ID."""
    if message_id and message_id.strip("<> "):
        return f"email:mid:{message_id.strip().strip('<>').lower()}"
    return f"email:sha:{hashlib.sha256(raw).hexdigest()}"


async def build_inbound(raw: bytes, ctx: MailboxContext, blobs: BlobStore) -> InboundMessage:
    """Run the whole filter chain; raises ``Skip`` for mail that must not be published."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    sender = str(msg.get("From", "")).strip()
    address = sender.split("<")[-1].rstrip(">").strip().lower() or "unknown@invalid"
    if address in ctx.own_addresses:
        raise Skip(f"loop: mail from our own address {address}")
    stored = await blobs.put(raw, "message/rfc822")
    body = msg.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    subject = str(msg.get("Subject", ""))
    token = re.search(ctx.ticket_token_pattern, subject)
    message_id = str(msg.get("Message-ID", "")).strip() or None
    return InboundMessage(
        idempotency_key=idempotency_key(message_id, raw),
        channel=Channel.EMAIL,
        channel_account=ctx.channel_account,
        sender=SenderIdentity(channel_user_id=address, email=address),
        thread=ThreadHints(
            conversation_id=address,
            message_id=message_id,
            in_reply_to=str(msg.get("In-Reply-To", "")).strip() or None,
            references=tuple(str(msg.get("References", "")).split()),
            ticket_number=int(token.group(1)) if token else None,
        ),
        subject=subject,
        text=text,
        raw=stored,
    )
