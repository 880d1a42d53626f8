"""An ``OutboundMessage`` for the email channel becomes an RFC 5322 message."""

from __future__ import annotations

import html as html_lib
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from helpdesk_common.email_markers import REPLY_SEPARATOR
from helpdesk_common.records import OutboundMessage

from .settings import NotifierSettings


def compose(
    outbound: OutboundMessage,
    settings: NotifierSettings,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> EmailMessage:
    """Headers that thread (Message-ID, In-Reply-To, References), the reply separator on top
    of both parts, ``Auto-Submitted`` on automatic mail, attachments as (name, type, bytes)."""
    msg = EmailMessage()
    msg["From"] = settings.email_from
    msg["To"] = outbound.recipient
    if settings.email_reply_to:
        msg["Reply-To"] = settings.email_reply_to
    msg["Subject"] = outbound.subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = outbound.email_message_id or make_msgid(domain=settings.email_domain)
    if outbound.in_reply_to:
        msg["In-Reply-To"] = outbound.in_reply_to
    if outbound.references:
        msg["References"] = " ".join(outbound.references)
    if outbound.automatic:
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(f"{REPLY_SEPARATOR}\n\n{outbound.text}\n")
    if outbound.html:
        marker = f'<div style="color:#888">{html_lib.escape(REPLY_SEPARATOR)}</div>'
        msg.add_alternative(f"{marker}\n{outbound.html}", subtype="html")
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(
            data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=filename,
        )
    return msg
