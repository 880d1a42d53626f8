"""Inbound mail pipeline: raw RFC 822 bytes -> ``InboundMessage``.

The synchronous filters in ``filters.FILTERS`` (parse -> loop / bounce / auto-reply
detection -> sender -> thread hints -> body -> quote cutting) fill an ``InboundMail``;
then the raw source and the attachments go to the blob store and the record is built.
``build_inbound`` is the contract the IMAP poller and the CLI use.
"""

from __future__ import annotations

import hashlib
import logging

from helpdesk_common import logs
from helpdesk_common.blobstore import BlobStore
from helpdesk_common.records import AttachmentRef, Channel, InboundMessage

from .context import MailboxContext
from .filters import FILTERS, run_filters
from .mail import UNKNOWN_SENDER, InboundMail, Skip, UnparseableMail

__all__ = [
    "FILTERS",
    "UNKNOWN_SENDER",
    "InboundMail",
    "Skip",
    "UnparseableMail",
    "build",
    "build_inbound",
    "idempotency_key",
    "run_filters",
    "store",
]

log = logs.get_logger(__name__)
_stdlog = logging.getLogger(__name__)  # to skip building debug events nobody will see


def idempotency_key(message_id: str | None, raw: bytes) -> str:
    """``email:mid:<Message-ID>`` (the same mail in two of our mailboxes is stored once),
    or ``email:sha:<sha256 of the raw bytes>`` for a mail without a Message-ID."""
    if message_id and message_id.strip("<> "):
        return f"email:mid:{message_id.strip().strip('<>').lower()}"
    return f"email:sha:{hashlib.sha256(raw).hexdigest()}"


async def store(mail: InboundMail, blobs: BlobStore) -> InboundMail:
    """Raw source and attachments to the blob store; oversized files are recorded as
    skipped (with the reason), never silently dropped."""
    mail.raw_ref = await blobs.put(mail.raw, "message/rfc822")
    limit = mail.ctx.max_attachment_bytes
    for part in mail.parts:
        size = len(part.data)
        skipped = f"over the size limit ({size} > {limit} bytes)" if size > limit else None
        ref = None if skipped else await blobs.put(part.data, part.content_type)
        mail.attachments.append(
            AttachmentRef(
                filename=part.filename,
                content_type=part.content_type,
                size=size,
                blob=ref,
                inline_cid=part.inline_cid,
                skipped_reason=skipped,
            )
        )
    return mail


def build(mail: InboundMail) -> InboundMessage:
    assert mail.sender is not None
    return InboundMessage(
        idempotency_key=idempotency_key(mail.thread.message_id, mail.raw),
        channel=Channel.EMAIL,
        channel_account=mail.ctx.channel_account,
        sender=mail.sender,
        thread=mail.thread,
        recipients=mail.recipients,
        subject=mail.subject,
        text=mail.text,
        html=mail.html,
        full_text=mail.full_text,
        attachments=tuple(mail.attachments),
        raw=mail.raw_ref,
        auto_submitted=mail.auto_submitted,
        is_bounce=mail.is_bounce,
        bounce=mail.bounce,
        sent_at=mail.sent_at,
    )


async def build_inbound(raw: bytes, ctx: MailboxContext, blobs: BlobStore) -> InboundMessage:
    """Run the whole filter chain; raises ``Skip`` for mail that must not be published and
    ``UnparseableMail`` (a ``ValueError``) for input that is not an email at all."""
    try:
        mail = run_filters(InboundMail(raw=raw, ctx=ctx))
    except Skip as skip:
        log.info("mail_skipped", reason=str(skip), size=len(raw))
        raise
    mail = await store(mail, blobs)
    message = build(mail)
    if _stdlog.isEnabledFor(logging.DEBUG):  # never bodies, even at debug
        log.debug(
            "mail_parsed",
            idempotency_key=message.idempotency_key,
            attachments=len(message.attachments),
            auto_submitted=message.auto_submitted,
            auto_reason=mail.auto_reason,
            is_bounce=message.is_bounce,
            truncated=mail.truncated,
        )
    if mail.truncated:
        log.warning("mail_body_truncated", idempotency_key=message.idempotency_key)
    return message
