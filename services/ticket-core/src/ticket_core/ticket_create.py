"""Registering a ticket by hand: an agent for a customer who phoned or walked in, or an
integration through the API (``POST /api/v1/tickets``, ``ticket_create_api.py``), and the
console's "New ticket" page.

The ticket is made the way ingestion and call records make theirs: default Open status,
SLA planned (``SlaContext.plan_new``), routed by the routing rules unless a responsible
agent or group is given (``route_new_tickets``), ``ticket.created`` (and
``responsible.changed`` when routing assigned someone) in the outbox of the caller's
transaction. The customer's request is the ticket's description; the first message is
an internal note by the registering agent with the same text, as the incoming-call form
does (``console/phone_tickets.py``): nothing is mailed to the customer, and a specialist
who registers a ticket is one of its authors, so sees it (``ticket_visibility``).

The contact is an existing one (``contact_id``) or found by email or phone, and created
when unknown, with the identities ingestion matches senders on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from helpdesk_common.phone_numbers import DEFAULT_MATCH_DIGITS
from helpdesk_common.records import Channel, TicketEvent, TicketEventKind, new_id
from helpdesk_common.topics import TICKET_EVENTS
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from . import batch_repo as batch
from . import channel_accounts as accounts_store
from . import repository as repo
from . import workflow_repo as wrepo
from .audit import SYSTEM, Actor, FieldChange, audit_rows, insert_audit
from .call_contacts import ensure_contact
from .catalog import Catalog, load_catalog
from .contact_rules import ContactError, normalise
from .contacts import email_domain
from .custom_attributes import InvalidAttribute
from .models import TicketStatus
from .org_repo import companies_by_domain
from .replies import ReplyRequest, ReplySettings, add_reply
from .required_attributes import Audience, check_on_create
from .routing_cache import SNAPSHOTS
from .routing_writer import route_new_tickets
from .sla_hooks import SlaContext
from .ticket_fields import load_definitions

REPLY_CHANNELS = ("email", "sms")
MAX_SUBJECT = 500
MAX_TEXT = 20_000
IDEMPOTENCY_PREFIX = "ticket-create:"


class TicketCreateRefused(ValueError):
    """The ticket cannot be made as asked (the API answers 422 with this text)."""


@dataclass(frozen=True)
class Origin:
    """Where a ticket came in, when not a reply channel chosen by the contact (the console's
    incoming-call form: the phone account and the caller's conversation)."""

    channel: str
    channel_account: str
    conversation_key: str | None = None


@dataclass(frozen=True)
class NewTicket:
    subject: str
    text: str
    contact_id: int | None = None
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    type_id: int | None = None
    priority_id: int | None = None
    responsible_agent_id: int | None = None
    responsible_group_id: int | None = None
    custom_attributes: Mapping[str, Any] = field(default_factory=dict)
    channel: str | None = None  # replies go out on: email / sms (default by the contact)
    agent_id: int | None = None  # who registers it (None: an integration without an agent)
    role: str | None = None  # the agent's role: which attributes it sees (None: all)
    idempotency_key: str | None = None
    origin: Origin | None = None  # None: replies by ``channel`` (email / sms)


@dataclass(frozen=True)
class Created:
    ticket_id: int
    created: bool  # False: the idempotency key named a ticket made before
    outbox_ids: list[int]


def checked(request: NewTicket) -> NewTicket:
    """The request with its texts trimmed, or ``TicketCreateRefused`` (pure)."""
    subject, text = request.subject.strip(), request.text.strip()
    email = (request.email or "").strip() or None
    phone = (request.phone or "").strip() or None
    name = (request.name or "").strip() or None
    if not subject:
        raise TicketCreateRefused("the subject is empty")
    if len(subject) > MAX_SUBJECT or len(text) > MAX_TEXT:
        raise TicketCreateRefused("the subject or the description is too long")
    if request.contact_id is None and email is None and phone is None:
        raise TicketCreateRefused("give the contact: contact_id, email or phone")
    if request.channel is not None and request.channel not in REPLY_CHANNELS:
        raise TicketCreateRefused(f"channel must be one of {', '.join(REPLY_CHANNELS)}")
    key = (request.idempotency_key or "").strip() or None
    if key is not None and len(key) > 200:
        raise TicketCreateRefused("the idempotency key is too long")
    return NewTicket(
        **{
            **request.__dict__,
            "subject": subject,
            "text": text,
            "email": email,
            "phone": phone,
            "name": name,
            "idempotency_key": key,
        }
    )


def _message_key(request: NewTicket) -> str | None:
    if request.idempotency_key is None:
        return None
    who = request.agent_id if request.agent_id is not None else "service"
    return f"{IDEMPOTENCY_PREFIX}{who}:{request.idempotency_key}"


async def ticket_for_key(session: AsyncSession, request: NewTicket) -> int | None:
    """The ticket an earlier request with the same idempotency key made (per agent)."""
    key = _message_key(request)
    if key is None:
        return None
    m = repo.messages.c
    found = await session.scalar(select(m.ticket_id).where(m.idempotency_key == key))
    return int(found) if found is not None else None


# --- the contact ------------------------------------------------------------------------


async def _by_email(session: AsyncSession, address: str, request: NewTicket) -> dict[str, Any]:
    owners = await batch.contacts_by_identities(session, [("email", address), ("webform", address)])
    contact_id = owners.get(("email", address)) or owners.get(("webform", address))
    if contact_id is None:
        [contact_id] = await repo.allocate_ids(session, "contacts_id_seq", 1)
        domain = email_domain(address)
        company = (await companies_by_domain(session, {domain})).get(domain) if domain else None
        await batch.insert_contacts_and_identities(
            session,
            [
                {
                    "id": contact_id,
                    "display_name": request.name or "",
                    "email": address,
                    "phone": None,
                    "company_id": company,
                }
            ],
            [{"contact_id": contact_id, "kind": "email", "value": address}],
        )
    contact = await repo.contact_by_id(session, contact_id)
    assert contact is not None
    return contact


async def find_or_create_contact(
    session: AsyncSession, request: NewTicket, default_country: str
) -> dict[str, Any]:
    """The ticket's contact: ``contact_id``, else found by email, else by phone (created
    when unknown, as ingestion and call records create senders)."""
    if request.contact_id is not None:
        contact = await repo.contact_by_id(session, request.contact_id)
        if contact is None:
            raise TicketCreateRefused(f"contact {request.contact_id} does not exist")
        return contact
    try:
        email = normalise("email", request.email, default_country) if request.email else None
        phone = normalise("phone", request.phone, default_country) if request.phone else None
    except ContactError as exc:
        raise TicketCreateRefused(str(exc)) from exc
    if email is not None:
        contact = await _by_email(session, email, request)
    else:
        assert phone is not None
        contact = await ensure_contact(session, phone, DEFAULT_MATCH_DIGITS)
    gaps = {
        k: v
        for k, v in (("display_name", request.name), ("email", email), ("phone", phone))
        if v and not contact.get(k)
    }
    if gaps:
        await session.execute(
            update(repo.contacts).where(repo.contacts.c.id == contact["id"]).values(**gaps)
        )
        contact.update(gaps)
    return contact


# --- the ticket -------------------------------------------------------------------------


async def _check_references(session: AsyncSession, catalog: Catalog, request: NewTicket) -> None:
    if request.type_id is not None and request.type_id not in catalog.types:
        raise TicketCreateRefused(f"ticket type {request.type_id} does not exist")
    if request.priority_id is not None and request.priority_id not in catalog.priorities:
        raise TicketCreateRefused(f"priority {request.priority_id} does not exist")
    inactive = catalog.inactive_choice(
        {}, {"type_id": request.type_id, "priority_id": request.priority_id}
    )
    if inactive is not None:  # (migration 0015)
        raise TicketCreateRefused(inactive)
    agent = request.responsible_agent_id
    if agent is not None and agent not in await wrepo.active_agents(session, [agent]):
        raise TicketCreateRefused(f"agent {agent} does not exist or is not active")
    group = request.responsible_group_id
    if group is not None and group not in await wrepo.existing_groups(session, [group]):
        raise TicketCreateRefused(f"group {group} does not exist")


async def _reply_route(
    session: AsyncSession, request: NewTicket, contact: dict[str, Any], settings: ReplySettings
) -> tuple[str, str, str | None]:
    """(channel, channel account, conversation key) replies to the ticket go out on."""
    channel = request.channel or ("email" if contact.get("email") else "sms")
    if channel == "email":
        if not contact.get("email"):
            raise TicketCreateRefused("the contact has no email address for replies")
        return Channel.EMAIL.value, settings.email_account, None
    number = await repo.identity_value(session, int(contact["id"]), "phone") or contact.get("phone")
    if not number:
        raise TicketCreateRefused("the contact has neither an email address nor a phone number")
    accounts = await accounts_store.list_accounts(session, Channel.SMS.value)
    enabled = [a for a in accounts if a.get("enabled", True)]
    account = str(enabled[0]["name"]) if enabled else Channel.SMS.value
    return Channel.SMS.value, account, f"sms:{account}:{number}"


def _created_event(
    catalog: Catalog,
    kind: TicketEventKind,
    ticket: dict[str, Any],
    agent_id: int | None,
    details: dict[str, str] | None = None,
) -> TicketEvent:
    return TicketEvent(
        kind=kind,
        ticket_id=ticket["id"],
        ticket_number=ticket["number"],
        contact_id=ticket["contact_id"],
        channel=Channel(ticket["channel"]),
        status=ticket["status"],
        internal=catalog.is_internal(ticket.get("type_id")),
        correlation_id=new_id(),
        actor_agent_id=agent_id,
        details=details or {},
    )


async def create_ticket(
    session: AsyncSession,
    request: NewTicket,
    reply_settings: ReplySettings,
    default_country: str,
) -> Created:
    """Make the ticket in the caller's transaction (``request`` already ``checked``).
    A concurrent request with the same idempotency key makes the transaction fail on the
    message's unique key: the caller rolls back and asks ``ticket_for_key``."""
    earlier = await ticket_for_key(session, request)
    if earlier is not None:
        return Created(earlier, False, [])
    now = datetime.now(UTC)
    catalog = await load_catalog(session)
    await _check_references(session, catalog, request)
    try:
        attributes = check_on_create(
            await load_definitions(session), request.custom_attributes, Audience(request.role)
        )
    except InvalidAttribute as exc:
        raise TicketCreateRefused(str(exc)) from exc
    contact = await find_or_create_contact(session, request, default_country)
    if request.origin is not None:
        origin = request.origin
        channel, account, conversation = (
            origin.channel,
            origin.channel_account,
            origin.conversation_key,
        )
    else:
        channel, account, conversation = await _reply_route(
            session, request, contact, reply_settings
        )
    [ticket_id] = await repo.allocate_ids(session, "tickets_id_seq", 1)
    [number] = await repo.allocate_ids(session, "ticket_number_seq", 1)
    ticket: dict[str, Any] = {
        "id": ticket_id,
        "number": number,
        "subject": request.subject,
        "description": request.text,
        "status": TicketStatus.OPEN.value,
        "channel": channel,
        "channel_account": account,
        "conversation_key": conversation,
        "contact_id": contact["id"],
        "created_at": now,
        "updated_at": now,
        "last_customer_message_at": now,
        "status_id": catalog.default_status(TicketStatus.OPEN).id,
        "priority_id": request.priority_id or catalog.default_priority_id,
        "type_id": request.type_id,
        "company_id": contact.get("company_id"),
        "custom_attributes": attributes,
        "open_since": now,
        "worked_seconds": 0.0,
        "reopen_count": 0,
        "responsible_agent_id": request.responsible_agent_id,
        "responsible_group_id": request.responsible_group_id,
    }
    await SlaContext(session).plan_new([ticket])  # planned reaction and resolution
    actor = Actor.agent(request.agent_id) if request.agent_id is not None else SYSTEM
    by = f"agent {request.agent_id}" if request.agent_id is not None else "the API"
    given = request.responsible_agent_id is not None or request.responsible_group_id is not None
    routing = None if given else await route_new_tickets(session, [ticket], SNAPSHOTS)
    await repo.insert_rows(session, repo.tickets, [ticket])
    audit = audit_rows(
        ticket_id, actor, [FieldChange("ticket", None, "created")], now, f"created by {by}"
    )
    if routing is not None:
        await routing.write_after_insert(session, audit, now)
    else:
        chosen = [
            FieldChange(name, None, ticket[name])
            for name in ("responsible_agent_id", "responsible_group_id")
            if ticket[name] is not None
        ]
        audit.extend(audit_rows(ticket_id, actor, chosen, now, f"set on creation by {by}"))
    await insert_audit(session, audit)
    events = [_created_event(catalog, TicketEventKind.TICKET_CREATED, ticket, request.agent_id)]
    routed = routing.details(ticket_id) if routing is not None else None
    if given:
        routed = {
            "reason": f"set on creation by {by}",
            "source": "creation",
            **{
                name: str(ticket[name])
                for name in ("responsible_agent_id", "responsible_group_id")
                if ticket[name] is not None
            },
        }
    if routed is not None:
        kind = TicketEventKind.RESPONSIBLE_CHANGED
        events.append(_created_event(catalog, kind, ticket, request.agent_id, routed))
    outbox = await repo.add_outbox(
        session, [(TICKET_EVENTS.name, e.model_dump_json()) for e in events]
    )
    # The customer's request as the registering agent's internal note: no mail goes out,
    # and the agent is an author of the ticket (a specialist sees it).
    note, more = await add_reply(
        session,
        ticket_id,
        ReplyRequest(
            request.text or request.subject, internal=True, author_agent_id=request.agent_id
        ),
        reply_settings,
    )
    key = _message_key(request)
    if key is not None:
        await session.execute(
            update(repo.messages)
            .where(repo.messages.c.id == note["id"])
            .values(idempotency_key=key)
        )
    return Created(ticket_id, True, outbox + more)
