"""Custom attributes required on creation, in-process against the session's real
PostgreSQL and Redis: the portal refuses a new ticket without the attributes contacts must
give (422 naming it) but never asks for one hidden from contacts; the console's "new
ticket" form (a logged-in agent session, CSRF) comes back with the error and what was
entered; channel tickets are created without the values and listed by
``missing_required=true`` until an agent fills them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from ticket_core.app import create_app
from ticket_core.settings import TicketCoreSettings

from .conftest import Desk, unique, webform
from .test_portal import customer, grant

Api = httpx.AsyncClient
PASSWORD = "agent-Passw0rd-1"


@pytest.fixture(scope="module")
async def app(infra: Any) -> AsyncIterator[FastAPI]:
    yield create_app(
        TicketCoreSettings(
            database_url=infra.database_url,
            redis_url=infra.redis_url,
            kafka_bootstrap_servers=infra.kafka,
            session_cookie_secure=False,
        )
    )


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as client:
        yield client


@pytest.fixture
async def attributes(api: Api) -> AsyncIterator[dict[str, str]]:
    """Three required attributes (deleted afterwards: definitions are global): a list
    contacts see, a number only agents see, a string only administrators see."""
    made: dict[str, str] = {}
    ids: list[int] = []
    specs = [
        ("product", {"kind": "list", "options": ["printer", "laptop"], "visible_to_contact": True}),
        ("contract", {"kind": "number"}),
        ("audit_ref", {"kind": "string", "visible_to_roles": ["administrator"]}),
    ]
    try:
        for name, spec in specs:
            key = f"{name}_{unique('')[:8]}"
            created = await api.post(
                "/api/v1/ticket-attributes",
                json={"key": key, "label": name.title(), "required_on_create": True, **spec},
            )
            assert created.status_code == 201, created.text
            ids.append(int(created.json()["id"]))
            made[name] = key
        yield made
    finally:
        for attribute_id in ids:
            removed = await api.delete(f"/api/v1/ticket-attributes/{attribute_id}")
            assert removed.status_code == 204, removed.text


async def test_portal_requires_only_what_contacts_see(
    api: Api, desk: Desk, attributes: dict[str, str]
) -> None:
    ann = await grant(api, await customer(desk))
    product = attributes["product"]
    choices = await api.get("/api/v1/portal/choices", headers=ann.headers)
    assert [(a["key"], a["required"]) for a in choices.json()["attributes"]] == [(product, True)]

    body: dict[str, Any] = {"subject": "Broken", "text": "It is broken"}
    missing = await api.post("/api/v1/portal/tickets", json=body, headers=ann.headers)
    assert missing.status_code == 422, missing.text
    assert product in missing.json()["detail"] and "Product" in missing.json()["detail"]
    wrong = await api.post(
        "/api/v1/portal/tickets",
        json={**body, "custom_attributes": {product: "toaster"}},
        headers=ann.headers,
    )
    assert wrong.status_code == 422 and product in wrong.json()["detail"]
    hidden = await api.post(
        "/api/v1/portal/tickets",
        json={**body, "custom_attributes": {product: "printer", attributes["contract"]: 7}},
        headers=ann.headers,
    )
    assert hidden.status_code == 422
    assert "not visible to contacts" in hidden.json()["detail"]
    listed = await api.get("/api/v1/portal/tickets", headers=ann.headers)
    assert listed.json()["total"] == 1  # nothing was created by the refusals

    # the agent-only attributes are not asked of the contact
    made = await api.post(
        "/api/v1/portal/tickets",
        json={**body, "custom_attributes": {product: "printer"}},
        headers=ann.headers,
    )
    assert made.status_code == 201, made.text
    ticket = await desk.ticket(made.json()["ticket_id"])
    assert ticket["custom_attributes"] == {product: "printer"}


async def _console_session(api: Api, role: str) -> str:
    """Log an agent of ``role`` into the console (session cookie); its CSRF token."""
    created = await api.post(
        "/api/v1/agents",
        json={"name": unique("Agent "), "email": f"{unique('a')}@desk.test", "role": role},
    )
    assert created.status_code == 201, created.text
    login = unique("agent.")
    credentials = await api.put(
        f"/api/v1/agents/{created.json()['id']}/credentials",
        json={"login": login, "password": PASSWORD},
    )
    assert credentials.status_code == 200, credentials.text
    signed_in = await api.post("/api/v1/auth/login", json={"login": login, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    api.cookies.set("helpdesk_session", signed_in.json()["token"])
    form = await api.get("/console/new-ticket", params={"phone": "+4930123456"})
    assert form.status_code == 200, form.text
    marker = 'name="csrf_token" value="'
    start = form.text.index(marker) + len(marker)
    return form.text[start : form.text.index('"', start)]


async def test_console_new_ticket_form_requires_what_the_role_sees(
    app: FastAPI, desk: Desk, attributes: dict[str, str]
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as browser:
        await _console_form(browser, desk, attributes)


async def _console_form(api: Api, desk: Desk, attributes: dict[str, str]) -> None:
    """``api`` carries the agent's session cookie (its own client: with it the REST API
    acts as that agent)."""
    csrf = await _console_session(api, "specialist")
    product, contract = attributes["product"], attributes["contract"]
    page = await api.get("/console/new-ticket")
    assert f'name="attr_{contract}"' in page.text and f'name="attr_{product}"' in page.text
    assert f'name="attr_{attributes["audit_ref"]}"' not in page.text  # administrators only
    phone = f"+49301{unique('')[:6].translate(str.maketrans('abcdef', '123456'))}"
    form = {
        "csrf_token": csrf,
        "phone": phone,
        "account": "phone",
        "subject": "Printer on fire",
        "note": "Caller says smoke",
        f"attr_{product}": "printer",
        f"attr_{contract}": "twelve",
    }
    bad = await api.post("/console/new-ticket", data=form)
    assert bad.status_code == 422
    assert "attribute &#39;" + contract in bad.text and "takes a number" in bad.text
    # the form keeps what was entered
    assert 'value="Printer on fire"' in bad.text and "Caller says smoke</textarea>" in bad.text
    assert 'value="twelve"' in bad.text and 'value="printer" selected' in bad.text

    form[f"attr_{contract}"] = ""
    missing = await api.post("/console/new-ticket", data=form)
    assert missing.status_code == 422 and "Contract" in missing.text and contract in missing.text

    form[f"attr_{contract}"] = "1042"
    made = await api.post("/console/new-ticket", data=form)
    assert made.status_code == 303, made.text
    ticket_id = int(made.headers["location"].split("/tickets/")[1].split("?")[0])
    ticket = await desk.ticket(ticket_id)
    assert ticket["custom_attributes"] == {product: "printer", contract: 1042}
    assert ticket["subject"] == "Printer on fire"


async def test_channel_tickets_are_created_and_listed_as_missing_required(
    api: Api, desk: Desk, attributes: dict[str, str]
) -> None:
    domain = f"{unique('req')}.test"
    email = f"{unique('c')}@{domain}"
    await desk.ingest([webform(email, text="Help by email")])
    ticket = await desk.ticket_of(email)
    assert ticket is not None and ticket["custom_attributes"] == {}  # never refused

    async def listed(missing: bool) -> set[int]:
        page = await api.get(
            "/api/v1/tickets",
            params={"contact_email": email, "missing_required": str(missing).lower()},
        )
        assert page.status_code == 200, page.text
        return {t["id"] for t in page.json()["items"]}

    assert await listed(True) == {ticket["id"]}
    assert await listed(False) == set()
    admin = await desk.agent("administrator")
    values = {
        attributes["product"]: "laptop",
        attributes["contract"]: 5,
        attributes["audit_ref"]: "A-1",
    }
    for key, value in values.items():
        assert await listed(True) == {ticket["id"]}  # still one missing
        patched = await api.patch(
            f"/api/v1/tickets/{ticket['id']}",
            json={"custom_attributes": {key: value}},
            headers={"X-Agent-Id": str(admin)},
        )
        assert patched.status_code == 200, patched.text
    assert await listed(True) == set()
    assert await listed(False) == {ticket["id"]}
