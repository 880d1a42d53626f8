"""Which ticket a customer message belongs to, and what it does to that ticket.

Candidates, in order (DESIGN.md): the subject token's ticket number, the email
In-Reply-To / References against Message-IDs we stored, then — for channels without
reply threading (messengers, SMS, web form) — the conversation's latest ticket.
``decide`` is a pure function of the candidate and the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from helpdesk_common.records import Channel, InboundMessage

from .models import TicketStatus

# Email threads only through references and the subject token: a fresh mail from the
# same address is a new request.
_REPLY_THREADED = frozenset({Channel.EMAIL})


class Action(StrEnum):
    NEW = "new"
    APPEND = "append"
    REOPEN = "reopen"
    FOLLOW_UP = "follow_up"  # a new ticket linked to the old one


@dataclass(frozen=True)
class Decision:
    action: Action
    ticket: dict[str, Any] | None = None
    new_status: str | None = None


# Where a peer is an address or a phone number, case carries no meaning; messenger ids
# (Viber's, for one) are case-sensitive and are kept as they are.
CASE_INSENSITIVE = frozenset({Channel.EMAIL, Channel.WEBFORM, Channel.SMS})


def peer_id(channel: Channel, value: str) -> str:
    return value.lower() if channel in CASE_INSENSITIVE else value


def conversation_key(message: InboundMessage) -> str | None:
    """``<channel>:<account>:<peer>``: the chat, peer or address the conversation runs in."""
    if message.channel in _REPLY_THREADED:
        return None
    peer = message.thread.conversation_id or message.sender.channel_user_id
    return f"{message.channel.value}:{message.channel_account}:{peer_id(message.channel, peer)}"


def conversation_peer(key: str) -> str:
    return key.split(":", 2)[2]


def reference_ids(message: InboundMessage) -> list[str]:
    ids = [*message.thread.references]
    if message.thread.in_reply_to:
        ids.append(message.thread.in_reply_to)
    return list(dict.fromkeys(i for i in ids if i))


def decide(
    ticket: dict[str, Any] | None,
    message: InboundMessage,
    *,
    now: datetime,
    reopen_window: timedelta,
) -> Decision:
    if ticket is None:
        return Decision(Action.NEW)
    status = ticket["status"]
    automatic = message.auto_submitted or message.is_bounce
    if status == TicketStatus.OPEN:
        return Decision(Action.APPEND, ticket)
    if status == TicketStatus.PENDING:
        # Default trigger: a customer reply to "waiting for reply" sets Open.
        return Decision(Action.APPEND, ticket, None if automatic else TicketStatus.OPEN)
    if automatic:
        # Auto-replies and bounces never reopen a ticket and never start a new one.
        return Decision(Action.APPEND, ticket)
    if status == TicketStatus.RESOLVED:
        since = ticket.get("resolved_at") or ticket.get("updated_at") or now
        if now - since <= reopen_window:
            return Decision(Action.REOPEN, ticket, TicketStatus.OPEN)
    # Closed is final, and a resolved ticket past the window stays resolved.
    return Decision(Action.FOLLOW_UP, ticket)


def new_ticket_subject(message: InboundMessage) -> str:
    if message.subject.strip():
        return message.subject.strip()[:250]
    first_line = next((line.strip() for line in message.text.splitlines() if line.strip()), "")
    return first_line[:120] or f"Request via {message.channel.value}"


# Addresses at these domains belong to unrelated people: a shared domain proves nothing.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "icloud.com",
        "aol.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "proton.me",
        "protonmail.com",
        "mail.ru",
        "bk.ru",
        "list.ru",
        "inbox.ru",
        "yandex.ru",
        "ya.ru",
        "rambler.ru",
    }
)


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower()


def sender_may_join(
    sender_email: str, *, ticket_contact_email: str | None, thread_addresses: set[str]
) -> bool:
    """May this sender's mail join a ticket it points at (by token or reference)?

    Yes for an address already on the thread (author, To, Cc) or a colleague at the
    ticket contact's own company domain; not for a stranger.
    """
    sender = sender_email.lower()
    if sender in thread_addresses:
        return True
    if ticket_contact_email and sender == ticket_contact_email.lower():
        return True
    domain = _domain(sender)
    return bool(
        ticket_contact_email
        and domain == _domain(ticket_contact_email)
        and domain not in PUBLIC_MAIL_DOMAINS
    )
