"""A ticket an agent opens from the incoming-call popup: the caller's contact (found by
number or created, as for call records), a new phone ticket made the way call records
make them (``calls._new_ticket``: default status and priority, SLA plan, routing), the
agent's words as its first internal note, and ``ticket.created`` in the outbox.

Custom attributes required on creation that the agent's role sees must be filled in the
form (``attr_<key>`` fields; ``required_attributes.py``): otherwise the form comes back
(422) naming the attribute, with what was entered."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from helpdesk_common.phone_numbers import DEFAULT_MATCH_DIGITS
from helpdesk_common.records import CallEvent, CallKind, TicketEventKind
from helpdesk_common.topics import TICKET_EVENTS
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .. import repository as repo
from ..call_contacts import ensure_contact
from ..calls import _new_ticket, _ticket_event
from ..catalog import load_catalog
from ..custom_attributes import InvalidAttribute
from ..replies import ReplyRequest, ReplySettings, add_reply
from ..required_attributes import FORM_PREFIX, Audience, check_on_create, form_fields, from_form
from ..ticket_fields import load_definitions

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
    role: str | None = None  # the agent's: which custom attributes it must fill
    attribute_fields: Mapping[str, str] = field(default_factory=dict)  # attr_<key> -> text


def checked(
    phone: str,
    account: str,
    subject: str,
    note: str,
    agent_id: int,
    *,
    role: str | None = None,
    form: Mapping[str, Any] | None = None,
) -> PhoneTicketRequest:
    phone, account, subject, note = phone.strip(), account.strip(), subject.strip(), note.strip()
    if not _NUMBER.match(phone):
        raise PhoneTicketRefused("the caller's number is not a phone number")
    number = "+" + re.sub(r"\D", "", phone) if phone.startswith("+") else re.sub(r"\D", "", phone)
    if not _ACCOUNT.match(account or "phone"):
        raise PhoneTicketRefused("unknown phone account")
    if len(subject) > 500 or len(note) > 20_000:
        raise PhoneTicketRefused("the subject or the note is too long")
    fields = {k: str(v) for k, v in (form or {}).items() if k.startswith(FORM_PREFIX)}
    return PhoneTicketRequest(
        number, account or "phone", subject or f"Call from {number}", note, agent_id, role, fields
    )


def _attributes(definitions: Any, request: PhoneTicketRequest) -> dict[str, Any]:
    try:
        values = from_form(definitions, request.attribute_fields)
        return check_on_create(definitions, values, Audience(request.role))
    except InvalidAttribute as exc:
        raise PhoneTicketRefused(str(exc)) from exc


async def form_context(
    sessions: async_sessionmaker[AsyncSession], role: str | None, form: Mapping[str, Any]
) -> dict[str, Any]:
    """What the "new ticket" form shows beyond number and account: the custom attribute
    inputs the role sees, and the subject, note and values entered so far."""
    async with sessions() as session:
        definitions = await load_definitions(session)
    return {
        "attributes": form_fields(definitions, Audience(role), form),
        "subject": str(form.get("subject") or "")[:500],
        "note": str(form.get("note") or "")[:20_000],
    }


async def open_phone_ticket(
    session: AsyncSession, request: PhoneTicketRequest, reply_settings: ReplySettings
) -> tuple[int, list[int]]:
    """(ticket id, outbox ids), in the caller's transaction."""
    now = datetime.now(UTC)
    attributes = _attributes(await load_definitions(session), request)
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
        .values(description=description, custom_attributes=attributes)
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
