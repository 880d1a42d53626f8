"""What the inbound mail pipeline needs to know about the mailbox a mail came from."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MailboxContext:
    channel_account: str
    """The channel account the mailbox is bound to (e.g. ``support``)."""
    own_addresses: frozenset[str] = field(default_factory=frozenset)
    """Our own addresses (lower case): mail from them is a loop."""
    max_attachment_bytes: int = 20 * 1024 * 1024
    """Attachments over this size are recorded as skipped, not stored."""
    ticket_token_pattern: str = r"\[\s*#\s*(\d{1,12})\s*\]"
    """Regex with one group: the ticket number in a subject token such as ``[#12345]``."""
    max_body_chars: int = 200_000
    """Text and HTML longer than this are cut (the raw source in the blob store keeps all)."""
