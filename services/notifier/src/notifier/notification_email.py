"""A notification as an email: the rendered body as text, and inside the layout as HTML."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import Any

from helpdesk_common.notification_templates import render_layout

from .notification_plan import Notice


def compose_notification(
    notice: Notice,
    config_settings: dict[str, Any],
    email_from: str,
    email_domain: str,
    default_reply_to: str | None,
) -> EmailMessage:
    """``From``: the configured sender name with the notifier's address; ``Reply-To``: the
    configured one, else ``NOTIFIER_EMAIL_REPLY_TO``. Marked automatic (RFC 3834)."""
    _, address = parseaddr(email_from)
    message = EmailMessage()
    message["From"] = formataddr((str(config_settings.get("sender_name") or ""), address))
    message["To"] = notice.address
    reply_to = config_settings.get("reply_to") or default_reply_to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = notice.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=email_domain)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["X-Helpdesk-Notification"] = notice.type_key
    message.set_content(notice.text + "\n")
    layout = str(config_settings.get("layout") or "{{ content }}")
    html = render_layout(layout, notice.text, {**notice.variables, "subject": notice.subject})
    message.add_alternative(html, subtype="html")
    return message
