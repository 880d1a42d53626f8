"""The console's "New ticket" page (``/console/tickets/new``): an agent registers a ticket
for a customer who phoned or walked in. The contact is typed as an email address, a phone
number, ``#<contact id>`` or a contact's exact name (suggestions come as the agent types);
the ticket is made by ``ticket_create.create_ticket``, as ``POST /api/v1/tickets`` makes
it. A refused form comes back (422) with the reason and what was entered."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..custom_attributes import InvalidAttribute
from ..replies import ReplyError
from ..required_attributes import FORM_PREFIX, Audience, form_fields, from_form
from ..ticket_create import NewTicket, TicketCreateRefused, checked, create_ticket
from ..ticket_fields import load_definitions
from .forms import PREFIX
from .kit import ConsoleKit
from .new_ticket_repo import contacts_named, matching_contacts
from .ticket_repo import catalogue

_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{2,30}$")
_CONTACT_ID = re.compile(r"^#(\d{1,18})$")
_TEXT_FIELDS = ("contact", "name", "subject", "text", "channel")
_ID_FIELDS = ("type_id", "priority_id", "responsible_agent_id", "responsible_group_id")


def contact_of(text: str) -> dict[str, Any]:
    """What the contact input names (pure): ``contact_id``, ``email``, ``phone`` or a
    ``name`` to look up; {} when empty."""
    value = text.strip()
    if not value:
        return {}
    if found := _CONTACT_ID.match(value):
        return {"contact_id": int(found.group(1))}
    if "@" in value:
        return {"email": value}
    if _PHONE.match(value):
        return {"phone": value}
    return {"name": value}


def ids_of(form: Mapping[str, Any]) -> dict[str, int | None]:
    """The id selects (blank: not given), or ``TicketCreateRefused``."""
    ids: dict[str, int | None] = {}
    for name in _ID_FIELDS:
        raw = str(form.get(name) or "").strip()
        if raw and not raw.isdigit():
            raise TicketCreateRefused(f"{name.replace('_', ' ')} must be a number")
        ids[name] = int(raw) if raw else None
    return ids


def new_ticket_router(kit: ConsoleKit) -> APIRouter:
    router = kit.router()

    async def form_page(
        request: Request, agent: Any, form: Mapping[str, Any], error: str | None, status: int
    ) -> Response:
        async with kit.sessions() as db:
            choices = await catalogue(db, with_companies=False)
            definitions = await load_definitions(db)
        entered = {k: str(form.get(k) or "")[:20_000] for k in (*_TEXT_FIELDS, *_ID_FIELDS)}
        context = {
            "error": error,
            "form": entered,
            "catalogue": choices,
            "attributes": form_fields(definitions, Audience(agent.role.value), form),
        }
        return kit.page(request, "new_ticket/form.html", context, agent, status)

    @router.get("/tickets/new", include_in_schema=False)
    async def new_ticket_form(request: Request) -> Response:
        agent = await kit.logged_in(request)
        return await form_page(request, agent, {}, None, 200)

    @router.get("/tickets/new/contacts", include_in_schema=False)
    async def contact_suggestions(request: Request) -> Response:
        agent = await kit.logged_in(request)
        text = request.query_params.get("contact", "")[:200]
        async with kit.sessions() as db:
            found = await matching_contacts(db, text)
        return kit.page(request, "new_ticket/_contacts.html", {"contacts": found}, agent)

    @router.post("/tickets/new", include_in_schema=False)
    async def create(request: Request) -> Response:
        agent = await kit.logged_in(request)
        form = await kit.checked_form(request, agent)
        text = {k: str(form.get(k) or "") for k in _TEXT_FIELDS}
        try:
            contact = contact_of(text["contact"])
            ids: dict[str, Any] = dict(ids_of(form))
            async with kit.sessions() as db, db.begin():
                if "name" in contact:
                    named = await contacts_named(db, contact.pop("name"))
                    if not named:
                        raise TicketCreateRefused(
                            "no contact has that name: give an email address or a phone number"
                        )
                    if len(named) > 1:
                        raise TicketCreateRefused(
                            "several contacts have that name: give the email address or phone"
                        )
                    contact["contact_id"] = named[0]["id"]
                definitions = await load_definitions(db)
                try:
                    attributes = from_form(
                        definitions,
                        {k: str(v) for k, v in form.items() if k.startswith(FORM_PREFIX)},
                    )
                except InvalidAttribute as exc:
                    raise TicketCreateRefused(str(exc)) from exc
                wanted = checked(
                    NewTicket(
                        subject=text["subject"],
                        text=text["text"],
                        name=text["name"] or None,
                        channel=text["channel"] or None,
                        custom_attributes=attributes,
                        agent_id=agent.id,
                        role=agent.role.value,
                        **contact,
                        **ids,
                    )
                )
                made = await create_ticket(
                    db, wanted, kit.reply_settings, kit.settings.default_phone_country
                )
        except (TicketCreateRefused, ReplyError) as exc:
            return await form_page(request, agent, form, str(exc), 422)
        await kit.relay.flush_quietly(made.outbox_ids)
        return RedirectResponse(f"{PREFIX}/tickets/{made.ticket_id}?done=created", status_code=303)

    return router
