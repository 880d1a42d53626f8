"""A ticket an agent opens from the incoming-call popup: the caller's contact (found by
number or created, as for call records), a new phone ticket made the way call records
make them (``calls._new_ticket``: default status and priority, SLA plan, routing), the
agent's words as its first internal note, and ``ticket.created`` in the outbox."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from helpdesk_common.phone_numbers import DEFAULT_MATCH_DIGITS
from helpdesk_common.records import CallEvent, CallKind, TicketEventKind
from helpdesk_common.topics import TICKET_EVENTS
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from .. import repository as repo
from ..call_contacts import ensure_contact
from ..calls import _new_ticket, _ticket_event
from ..catalog import load_catalog
from ..replies import ReplyRequest, ReplySettings, add_reply

_NUMBER = re.compile(r"^\+?[0-9][0-9 ()-]{2,30}$")
_ACCOUNT = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class PhoneTicketRefused(ValueError):
    pass


@dataclass(frozen=True)
class PhoneTicketRequest:
    phone: str
    account: str
    subject: str
    note: str
    agent_id: int


def checked(phone: str, account: str, subject: str, note: str, agent_id: int) -> PhoneTicketRequest:
    phone, account, subject, note = phone.strip(), account.strip(), subject.strip(), note.strip()
    if not _NUMBER.match(phone):
        raise PhoneTicketRefused("the caller's number is not a phone number")
    number = "+" + re.sub(r"\D", "", phone) if phone.startswith("+") else re.sub(r"\D", "", phone)
    if not _ACCOUNT.match(account or "phone"):
        raise PhoneTicketRefused("unknown phone account")
    if len(subject) > 500 or len(note) > 20_000:
        raise PhoneTicketRefused("the subject or the note is too long")
    return PhoneTicketRequest(
        number, account or "phone", subject or f"Call from {number}", note, agent_id
    )


async def open_phone_ticket(
    session: AsyncSession, request: PhoneTicketRequest, reply_settings: ReplySettings
) -> tuple[int, list[int]]:
    """(ticket id, outbox ids), in the caller's transaction."""
    now = datetime.now(UTC)
    catalog = await load_catalog(session)
    contact = await ensure_contact(session, request.phone, DEFAULT_MATCH_DIGITS)
    call = CallEvent(
        idempotency_key=f"console:{uuid.uuid4().hex}",
        channel_account=request.account,
        call_id=f"console-{uuid.uuid4().hex}",
        kind=CallKind.RINGING,
        direction="inbound",
        from_number=request.phone,
        to_number="",
    )
    ticket = await _new_ticket(session, catalog, call, contact, request.subject, now)
    description = request.note or f"Call from {request.phone}"
    await session.execute(
        update(repo.tickets)
        .where(repo.tickets.c.id == ticket["id"])
        .values(description=description)
    )
    created = _ticket_event(catalog, TicketEventKind.TICKET_CREATED, ticket, call)
    outbox = await repo.add_outbox(session, [(TICKET_EVENTS.name, created.model_dump_json())])
    # The agent's note (always one: it also makes the ticket a specialist's own).
    _, more = await add_reply(
        session,
        ticket["id"],
        ReplyRequest(description, internal=True, author_agent_id=request.agent_id),
        reply_settings,
    )
    return int(ticket["id"]), outbox + more
