"""The customer portal API, in-process against the session's real PostgreSQL and Redis:
contacts log in (argon2, lockout), see their own (or their company's) tickets and never
internal tickets, internal notes or other contacts' tickets; reply through ingestion's
rules; create tickets with the allowed type and priority; confirm, reopen, rate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from ticket_core.app import create_app
from ticket_core.audit import Actor
from ticket_core.models_workflow import priorities, ticket_types
from ticket_core.repository import tickets
from ticket_core.settings import TicketCoreSettings

from .conftest import Desk, unique, webform

Api = httpx.AsyncClient
PASSWORD = "portal-Passw0rd"
SYSTEM = Actor("system")


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


@dataclass
class Customer:
    contact_id: int
    email: str
    ticket_id: int
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def customer(desk: Desk, domain: str = "portal.test") -> Customer:
    email = f"{unique('p')}@{domain}"
    await desk.ingest([webform(email, text="My first question")])
    ticket = await desk.ticket_of(email)
    assert ticket is not None
    return Customer(int(ticket["contact_id"]), email, int(ticket["id"]))


async def grant(api: Api, who: Customer, access: str = "own") -> Customer:
    response = await api.put(
        f"/api/v1/contacts/{who.contact_id}/portal-access",
        json={"password": PASSWORD, "access": access},
    )
    assert response.status_code == 200, response.text
    assert response.json()["login"] == who.email and "password_hash" not in response.json()
    login = await api.post(
        "/api/v1/portal/auth/login", json={"login": who.email.upper(), "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    assert "helpdesk_portal_session" in login.headers["set-cookie"]
    who.token = login.json()["token"]
    return who


async def type_id(desk: Desk, *, internal: bool) -> int:
    async with desk.sessions() as session:
        found = await session.scalar(
            select(ticket_types.c.id).where(ticket_types.c.internal.is_(internal)).limit(1)
        )
    assert found is not None
    return int(found)


async def test_contacts_see_only_their_public_tickets_and_messages(api: Api, desk: Desk) -> None:
    ann = await grant(api, await customer(desk))
    bob = await customer(desk)
    agent = await desk.agent("administrator")
    # an internal ticket of Ann's, and an internal note on her visible ticket
    extra = await customer(desk)  # a fresh ticket we then hand to Ann and make internal
    await _reassign_contact(desk, extra.ticket_id, ann.contact_id)
    await desk.change([extra.ticket_id], SYSTEM, type_id=await type_id(desk, internal=True))
    as_agent = {"X-Agent-Id": str(agent)}
    note = await api.post(
        f"/api/v1/tickets/{ann.ticket_id}/replies",
        json={"text": "SECRET internal remark", "internal": True},
        headers=as_agent,
    )
    assert note.status_code == 201, note.text
    answer = await api.post(
        f"/api/v1/tickets/{ann.ticket_id}/replies",
        json={"text": "Public answer from support"},
        headers=as_agent,
    )
    assert answer.status_code == 201, answer.text

    listed = await api.get("/api/v1/portal/tickets", headers=ann.headers)
    assert listed.status_code == 200, listed.text
    ids = {t["id"] for t in listed.json()["items"]}
    assert ann.ticket_id in ids
    assert extra.ticket_id not in ids and bob.ticket_id not in ids
    assert listed.json()["total"] == len(ids)

    detail = await api.get(f"/api/v1/portal/tickets/{ann.ticket_id}", headers=ann.headers)
    assert detail.status_code == 200
    texts = [m["text"] for m in detail.json()["messages"]]
    assert "My first question" in texts and "Public answer from support" in texts
    assert not any("SECRET" in t for t in texts)
    assert "SECRET" not in detail.text
    authors = {m["text"]: m["author"] for m in detail.json()["messages"]}
    assert authors["Public answer from support"] == "agent"

    for hidden in (extra.ticket_id, bob.ticket_id, 999_999_999):
        for method, path in (
            ("GET", ""),
            ("POST", "/replies"),
            ("POST", "/confirm"),
            ("POST", "/reopen"),
            ("POST", "/rating"),
        ):
            body = {"text": "hi"} if path == "/replies" else {"rating": "good"} if path else None
            response = await api.request(
                method, f"/api/v1/portal/tickets/{hidden}{path}", json=body, headers=ann.headers
            )
            assert response.status_code == 404, (hidden, path, response.text)


async def _reassign_contact(desk: Desk, ticket_id: int, contact_id: int) -> None:
    async with desk.sessions() as session, session.begin():
        await session.execute(
            tickets.update().where(tickets.c.id == ticket_id).values(contact_id=contact_id)
        )


async def test_company_access_shows_colleagues_tickets(api: Api, desk: Desk) -> None:
    domain = f"{unique('co')}.test"
    ann, bob = await customer(desk, domain), await customer(desk, domain)
    outsider = await customer(desk)
    company = await api.post("/api/v1/companies", json={"name": unique("Co "), "domains": [domain]})
    assert company.status_code == 201, company.text
    await grant(api, ann, "own")
    own = await api.get("/api/v1/portal/tickets", headers=ann.headers)
    assert {t["id"] for t in own.json()["items"]} == {ann.ticket_id}
    changed = await api.put(
        f"/api/v1/contacts/{ann.contact_id}/portal-access", json={"access": "company"}
    )
    assert changed.status_code == 200 and changed.json()["access"] == "company"
    # changing the level alone keeps the session; it applies to the next request
    shared = await api.get("/api/v1/portal/tickets", headers=ann.headers)
    assert {t["id"] for t in shared.json()["items"]} == {ann.ticket_id, bob.ticket_id}
    assert outsider.ticket_id not in {t["id"] for t in shared.json()["items"]}
    seen = await api.get(f"/api/v1/portal/tickets/{bob.ticket_id}", headers=ann.headers)
    assert seen.status_code == 200 and seen.json()["contact_id"] == bob.contact_id


async def test_replies_follow_the_threading_and_reopen_rules(api: Api, desk: Desk) -> None:
    ann = await grant(api, await customer(desk))
    url = f"/api/v1/portal/tickets/{ann.ticket_id}/replies"
    first = await api.post(
        url, json={"text": "More details"}, headers={**ann.headers, "Idempotency-Key": "k1"}
    )
    assert first.status_code == 201, first.text
    assert first.json()["ticket_id"] == ann.ticket_id and first.json()["status"] == "open"
    again = await api.post(
        url, json={"text": "More details"}, headers={**ann.headers, "Idempotency-Key": "k1"}
    )
    assert again.json()["message_id"] == first.json()["message_id"]  # stored once

    await desk.change(
        [ann.ticket_id],
        SYSTEM,
        status="pending",
        pending_until=datetime.now(UTC) + timedelta(days=1),
    )
    woke = await api.post(url, json={"text": "Any news?"}, headers=ann.headers)
    assert woke.json()["status"] == "open" and woke.json()["ticket_id"] == ann.ticket_id
    audit = await desk.audit(ann.ticket_id)
    assert any(r["actor"] == "customer" and r["new_value"] == "open" for r in audit)

    await desk.change([ann.ticket_id], SYSTEM, status="resolved")
    await desk.change([ann.ticket_id], SYSTEM, status="closed")
    later = await api.post(url, json={"text": "It broke again"}, headers=ann.headers)
    assert later.status_code == 201
    follow_up = later.json()["ticket_id"]
    assert follow_up != ann.ticket_id
    assert (await desk.ticket(follow_up))["follow_up_of_id"] == ann.ticket_id
    assert (await desk.ticket(ann.ticket_id))["status"] == "closed"  # closed is final
    assert (await api.post(url, json={"text": ""}, headers=ann.headers)).status_code == 422


async def test_create_confirm_reopen_and_rate(api: Api, desk: Desk) -> None:
    ann = await grant(api, await customer(desk))
    question = await type_id(desk, internal=False)
    async with desk.sessions() as session:
        priority = int(
            await session.scalar(select(priorities.c.id).order_by(priorities.c.id.desc()).limit(1))
            or 0
        )
    options = await api.put(
        "/api/v1/settings/portal", json={"type_ids": [question], "priority_ids": [priority]}
    )
    assert options.status_code == 200, options.text
    internal = await type_id(desk, internal=True)
    refused = await api.put("/api/v1/settings/portal", json={"type_ids": [internal]})
    assert refused.status_code == 422
    choices = await api.get("/api/v1/portal/choices", headers=ann.headers)
    assert choices.json() == {"type_ids": [question], "priority_ids": [priority], "attributes": []}

    made = await api.post(
        "/api/v1/portal/tickets",
        json={
            "subject": "Printer",
            "text": "It jams",
            "type_id": question,
            "priority_id": priority,
        },
        headers=ann.headers,
    )
    assert made.status_code == 201, made.text
    ticket = await desk.ticket(made.json()["ticket_id"])
    assert (ticket["type_id"], ticket["priority_id"]) == (question, priority)
    assert ticket["subject"] == "Printer" and ticket["contact_id"] == ann.contact_id
    second = await api.post(
        "/api/v1/portal/tickets", json={"subject": "Other", "text": "Another"}, headers=ann.headers
    )
    assert second.json()["ticket_id"] != ticket["id"]  # never appended to the first
    for bad in ({"type_id": internal}, {"priority_id": 999_999}, {"subject": ""}):
        body = {"subject": "x", "text": "y", **bad}
        response = await api.post("/api/v1/portal/tickets", json=body, headers=ann.headers)
        assert response.status_code == 422, (bad, response.text)

    base = f"/api/v1/portal/tickets/{ticket['id']}"
    assert (await api.post(f"{base}/confirm", headers=ann.headers)).status_code == 409
    assert (
        await api.post(f"{base}/rating", json={"rating": "good"}, headers=ann.headers)
    ).status_code == 409
    await desk.change([ticket["id"]], SYSTEM, status="resolved")
    reopened = await api.post(f"{base}/reopen", headers=ann.headers)
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    await desk.change([ticket["id"]], SYSTEM, status="resolved")
    rated = await api.post(
        f"{base}/rating", json={"rating": "good", "comment": "Thanks"}, headers=ann.headers
    )
    assert rated.status_code == 200, rated.text
    confirmed = await api.post(f"{base}/confirm", headers=ann.headers)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "closed"
    final = await desk.ticket(ticket["id"])
    assert (final["status"], final["rating"], final["rating_comment"]) == (
        "closed",
        "good",
        "Thanks",
    )
    assert (await api.post(f"{base}/reopen", headers=ann.headers)).status_code == 409
    closed_by = [r for r in await desk.audit(ticket["id"]) if r["new_value"] == "closed"]
    assert closed_by and closed_by[-1]["actor"] == "customer"


async def test_portal_login_lockout_and_separate_sessions(api: Api, desk: Desk) -> None:
    ann = await grant(api, await customer(desk))
    # a portal token is no agent session, and an agent session no portal one
    assert (await api.get("/api/v1/tickets", headers=ann.headers)).status_code == 401
    agent_id = await desk.agent("administrator")
    login = unique("agent.")
    await api.put(
        f"/api/v1/agents/{agent_id}/credentials", json={"login": login, "password": PASSWORD}
    )
    agent_token = (
        await api.post("/api/v1/auth/login", json={"login": login, "password": PASSWORD})
    ).json()["token"]
    agent_headers = {"Authorization": f"Bearer {agent_token}"}
    assert (await api.get("/api/v1/portal/tickets", headers=agent_headers)).status_code == 401
    api.cookies.clear()  # the client keeps the login's cookies
    assert (await api.get("/api/v1/portal/tickets")).status_code == 401
    me = await api.get("/api/v1/portal/auth/me", headers=ann.headers)
    assert me.json()["contact_id"] == ann.contact_id

    # cookie sessions refuse writes from other origins
    cookie = {"Cookie": f"helpdesk_portal_session={ann.token}"}
    assert (await api.get("/api/v1/portal/tickets", headers=cookie)).status_code == 200
    evil = await api.post(
        f"/api/v1/portal/tickets/{ann.ticket_id}/replies",
        json={"text": "x"},
        headers={**cookie, "Origin": "https://evil.example"},
    )
    assert evil.status_code == 403

    # five failures lock the login, even for the right password
    for _ in range(5):
        wrong = await api.post(
            "/api/v1/portal/auth/login", json={"login": ann.email, "password": "wrong-password"}
        )
        assert wrong.status_code == 401
    locked = await api.post(
        "/api/v1/portal/auth/login", json={"login": ann.email, "password": PASSWORD}
    )
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0

    # withdrawing access ends the sessions; a new password too
    bob = await grant(api, await customer(desk))
    assert (await api.delete(f"/api/v1/contacts/{bob.contact_id}/portal-access")).status_code == 204
    assert (await api.get("/api/v1/portal/tickets", headers=bob.headers)).status_code == 401
    gone = await api.post(
        "/api/v1/portal/auth/login", json={"login": bob.email, "password": PASSWORD}
    )
    assert gone.status_code == 401
    logout = await api.post("/api/v1/portal/auth/logout", headers=ann.headers)
    assert logout.status_code == 204
    assert (await api.get("/api/v1/portal/auth/me", headers=ann.headers)).status_code == 401


async def test_portal_access_is_validated(api: Api, desk: Desk) -> None:
    ann = await customer(desk)
    url = f"/api/v1/contacts/{ann.contact_id}/portal-access"
    assert (await api.get(url)).status_code == 404
    assert (await api.put(url, json={"access": "own"})).status_code == 422  # needs a password
    assert (await api.put(url, json={"password": "short"})).status_code == 422
    assert (await api.put(url, json={"password": PASSWORD, "access": "all"})).status_code == 422
    missing = await api.put("/api/v1/contacts/999999999/portal-access", json={"password": PASSWORD})
    assert missing.status_code == 404
    done = await api.put(url, json={"password": PASSWORD})
    assert done.status_code == 200 and done.json()["access"] == "own" and done.json()["active"]
