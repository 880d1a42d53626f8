"""The mail-in-progress that the inbound filters pass along, and the chain's outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

from helpdesk_common.records import AttachmentRef, BlobRef, BounceInfo, SenderIdentity, ThreadHints

from .context import MailboxContext

UNKNOWN_SENDER = "unknown@invalid"
"""Sender address used when a mail carries no usable From/Sender/Return-Path address
(``.invalid`` is reserved, RFC 2606): the mail is still recorded, never dropped."""


class Skip(Exception):
    """The mail is deliberately not published (e.g. a loop from our own address)."""


class UnparseableMail(ValueError):
    """The input is not an email at all (empty, or no header block): nothing to publish."""


@dataclass
class MailPart:
    """An attachment or inline image as found in the MIME tree, before it is stored."""

    filename: str
    content_type: str
    data: bytes
    inline_cid: str | None = None


@dataclass
class InboundMail:
    """One mail going through the filters; each filter reads and fills some fields."""

    raw: bytes
    ctx: MailboxContext
    msg: EmailMessage = field(default_factory=EmailMessage)
    headers: dict[str, str] = field(default_factory=dict)
    """First raw value of each top-level header, by lower-case name (see ``mime.raw_headers``)."""
    subject: str = ""
    from_address: str | None = None
    from_name: str = ""
    auto_submitted: bool = False
    auto_reason: str | None = None
    is_bounce: bool = False
    bounce: BounceInfo | None = None
    sender: SenderIdentity | None = None
    recipients: tuple[str, ...] = ()
    thread: ThreadHints = field(default_factory=ThreadHints)
    sent_at: datetime | None = None
    text: str = ""
    html: str | None = None
    full_text: str | None = None
    forwarded: bool = False
    parts: list[MailPart] = field(default_factory=list)
    attachments: list[AttachmentRef] = field(default_factory=list)
    raw_ref: BlobRef | None = None
    truncated: bool = False
