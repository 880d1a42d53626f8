"""A ticket an agent opens from the incoming-call popup: the caller's contact (found by
number or created, as for call records), a new phone ticket made as every hand-registered
ticket is (``ticket_create.create_ticket``: default status, SLA plan, routing, an audit
row, ``ticket.created`` in the outbox), the agent's words as its description and first
internal note.

Custom attributes required on creation that the agent's role sees must be filled in the
form (``attr_<key>`` fields; ``required_attributes.py``): otherwise the form comes back
(422) naming the attribute, with what was entered."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from helpdesk_common.phone_numbers import DEFAULT_MATCH_DIGITS
from helpdesk_common.records import Channel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..call_contacts import ensure_contact
from ..custom_attributes import InvalidAttribute
from ..replies import ReplySettings
from ..required_attributes import FORM_PREFIX, Audience, form_fields, from_form
from ..ticket_create import NewTicket, Origin, TicketCreateRefused, create_ticket
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
    """The form's attribute values (``create_ticket`` checks them for the role)."""
    try:
        return from_form(definitions, request.attribute_fields)
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
    """(ticket id, outbox ids), in the caller's transaction: the caller's contact found by
    number (or made), then the ticket as every hand-registered ticket is made
    (``ticket_create.create_ticket``), on the phone account's conversation."""
    values = _attributes(await load_definitions(session), request)
    contact = await ensure_contact(session, request.phone, DEFAULT_MATCH_DIGITS)
    description = request.note or f"Call from {request.phone}"
    wanted = NewTicket(
        subject=request.subject,
        text=description,
        contact_id=int(contact["id"]),
        custom_attributes=values,
        agent_id=request.agent_id,
        role=request.role,
        origin=Origin(
            Channel.PHONE.value, request.account, f"phone:{request.account}:{request.phone}"
        ),
    )
    try:
        made = await create_ticket(session, wanted, reply_settings, "")
    except TicketCreateRefused as exc:
        raise PhoneTicketRefused(str(exc)) from exc
    return made.ticket_id, made.outbox_ids
