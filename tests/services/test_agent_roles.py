"""Roles on every API call, through the running ticket-core with real agent sessions:
each role against settings, directory and ticket routes, and what a specialist sees."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from helpdesk_common.agent_sessions import AgentSessions
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from ticket_core.access import AgentAccess
from ticket_core.api_common import bearer_auth
from ticket_core.settings import TicketCoreSettings

from .auth_helpers import LoggedIn, logged_in
from .conftest import Desk

Api = httpx.AsyncClient


def _name() -> str:
    return f"n{uuid.uuid4().hex[:10]}"


async def test_settings_are_read_by_everyone_and_changed_by_administrators_only(
    tickets_api: Api,
) -> None:
    admin, lead, specialist = [
        await logged_in(tickets_api, r) for r in ("administrator", "lead_specialist", "specialist")
    ]
    target = await logged_in(tickets_api)
    writes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/api/v1/priorities", {"name": _name(), "position": 7, "colour": "#123456"}),
        ("POST", "/api/v1/ticket-types", {"name": _name()}),
        ("POST", "/api/v1/statuses", {"name": _name(), "category": "open"}),
        ("POST", "/api/v1/company-categories", {"name": _name()}),
        ("PATCH", f"/api/v1/agents/{target.agent_id}", {"role": "lead_specialist"}),
        ("PUT", f"/api/v1/agents/{target.agent_id}/credentials", {"login": _name()}),
        ("POST", "/api/v1/groups", {"name": _name()}),
        (
            "POST",
            "/api/v1/channel-accounts",
            {"channel": "telegram", "name": _name(), "secrets": {"token": "1:x"}},
        ),
        ("POST", "/api/v1/channel-accounts/sms/none/test", None),
    ]
    for method, url, body in writes:
        for who in (lead, specialist):
            refused = await tickets_api.request(method, url, json=body, headers=who.headers)
            assert refused.status_code == 403, (method, url, refused.text)
            assert "may not change settings" in refused.json()["detail"]
        done = await tickets_api.request(method, url, json=body, headers=admin.headers)
        assert done.status_code in (200, 201, 404), (method, url, done.text)  # 404: no account
    for url in ("/api/v1/priorities", "/api/v1/statuses", "/api/v1/agents", "/api/v1/groups"):
        for who in (admin, lead, specialist):
            assert (await tickets_api.get(url, headers=who.headers)).status_code == 200, url
    # The role change above reached the session: the target is a lead now.
    me = await tickets_api.get("/api/v1/auth/me", headers=target.headers)
    assert me.json()["role"] == "lead_specialist"


async def test_companies_are_changed_by_administrators_and_leads(tickets_api: Api) -> None:
    admin, lead, specialist = [
        await logged_in(tickets_api, r) for r in ("administrator", "lead_specialist", "specialist")
    ]
    for who in (admin, lead):
        created = await tickets_api.post(
            "/api/v1/companies", json={"name": _name()}, headers=who.headers
        )
        assert created.status_code == 201, created.text
    refused = await tickets_api.post(
        "/api/v1/companies", json={"name": _name()}, headers=specialist.headers
    )
    assert refused.status_code == 403
    assert (
        await tickets_api.get("/api/v1/companies", headers=specialist.headers)
    ).status_code == 200


async def _visible(api: Api, who: LoggedIn) -> dict[int, Any]:
    response = await api.get("/api/v1/tickets", params={"limit": 200}, headers=who.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return {t["id"]: t for t in body["items"]}


async def test_a_specialist_sees_and_changes_only_the_tickets_that_concern_them(
    desk: Desk, tickets_api: Api
) -> None:
    specialist = await logged_in(tickets_api)
    lead = await logged_in(tickets_api, "lead_specialist")
    colleague = await desk.agent()
    team = await desk.group([specialist.agent_id, colleague])
    mine, teams, watched, team_watched, written, foreign = await desk.tickets(6)
    service = {"X-Agent-Id": str(colleague)}
    changes = [
        (mine, {"responsible_agent_id": specialist.agent_id}),
        (teams, {"responsible_group_id": team}),
        (watched, {"observer_agent_ids": [specialist.agent_id]}),
        (team_watched, {"observer_group_ids": [team]}),
        (foreign, {"responsible_agent_id": colleague}),
    ]
    for ticket, body in changes:
        response = await tickets_api.patch(
            f"/api/v1/tickets/{ticket['id']}", json=body, headers=service
        )
        assert response.status_code == 200, response.text
    # A note written as the specialist (service token + X-Agent-Id) makes them an author.
    note = await tickets_api.post(
        f"/api/v1/tickets/{written['id']}/replies",
        json={"text": "Called the customer", "internal": True},
        headers={"X-Agent-Id": str(specialist.agent_id)},
    )
    assert note.status_code == 201 and note.json()["author_agent_id"] == specialist.agent_id

    concerned = {t["id"] for t in (mine, teams, watched, team_watched, written)}
    assert set(await _visible(tickets_api, specialist)) == concerned
    filtered = await tickets_api.get(
        "/api/v1/tickets",
        params={"responsible_agent_id": colleague},
        headers=specialist.headers,
    )
    assert filtered.json()["total"] == 0  # filters narrow what they may see, never widen it
    lead_sees = await tickets_api.get(
        "/api/v1/tickets",
        params={"responsible_agent_id": colleague, "limit": 200},
        headers=lead.headers,
    )
    assert foreign["id"] in {t["id"] for t in lead_sees.json()["items"]}

    hidden = foreign["id"]
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/api/v1/tickets/{hidden}", None),
        ("GET", f"/api/v1/tickets/{hidden}/audit", None),
        ("PATCH", f"/api/v1/tickets/{hidden}", {"priority_id": foreign["priority_id"]}),
        ("POST", f"/api/v1/tickets/{hidden}/replies", {"text": "hi", "internal": True}),
    ]
    for method, url, payload in attempts:
        refused = await tickets_api.request(method, url, json=payload, headers=specialist.headers)
        assert refused.status_code == 404, (method, url, refused.text)
        assert refused.json()["detail"] == f"ticket {hidden} not found"
    for ticket_id in concerned:
        seen = await tickets_api.get(f"/api/v1/tickets/{ticket_id}", headers=specialist.headers)
        assert seen.status_code == 200
    reply = await tickets_api.post(
        f"/api/v1/tickets/{mine['id']}/replies",
        json={"text": "On it", "internal": True},
        headers=specialist.headers,
    )
    assert reply.status_code == 201 and reply.json()["author_agent_id"] == specialist.agent_id
    changed = await tickets_api.patch(
        f"/api/v1/tickets/{mine['id']}",
        json={"status": "pending", "pending_until": "2099-01-01T00:00:00+00:00"},
        headers=specialist.headers,
    )
    assert changed.status_code == 200, changed.text
    audit = await tickets_api.get(f"/api/v1/tickets/{mine['id']}/audit", headers=specialist.headers)
    assert {r["agent_id"] for r in audit.json()["items"] if r["field"] == "status"} == {
        specialist.agent_id
    }  # the session's agent is the actor, no X-Agent-Id needed

    bulk = await tickets_api.post(
        "/api/v1/tickets/bulk",
        json={"ticket_ids": [teams["id"], hidden], "priority_id": foreign["priority_id"] + 1},
        headers=specialist.headers,
    )
    assert bulk.status_code == 200, bulk.text
    assert bulk.json()["updated"] == [teams["id"]]
    assert bulk.json()["failed"] == [{"ticket_id": hidden, "error": "ticket not found"}]
    assert (await desk.ticket(hidden))["priority_id"] == foreign["priority_id"]

    # A lead works on any ticket; nobody acts in another agent's name.
    lead_change = await tickets_api.patch(
        f"/api/v1/tickets/{hidden}",
        json={"priority_id": foreign["priority_id"]},
        headers=lead.headers,
    )
    assert lead_change.status_code == 200
    spoofed = await tickets_api.patch(
        f"/api/v1/tickets/{mine['id']}",
        json={"priority_id": foreign["priority_id"]},
        headers={**specialist.headers, "X-Agent-Id": str(lead.agent_id)},
    )
    assert spoofed.status_code == 403


async def test_cookie_sessions_refuse_changes_from_other_origins(tickets_api: Api) -> None:
    admin = await logged_in(tickets_api, "administrator")
    cookie = {"Cookie": f"helpdesk_session={admin.token}"}
    base = str(tickets_api.base_url).rstrip("/")
    body = {"name": _name()}
    evil = await tickets_api.post(
        "/api/v1/companies", json=body, headers={**cookie, "Origin": "https://evil.example"}
    )
    assert evil.status_code == 403
    ours = await tickets_api.post(
        "/api/v1/companies", json=body, headers={**cookie, "Origin": base}
    )
    assert ours.status_code == 201, ours.text


@pytest.fixture
async def unclassified_app(engine: AsyncEngine, infra) -> AsyncIterator[FastAPI]:  # type: ignore[no-untyped-def]
    """A router someone added without a router class: reached through ``bearer_auth``."""
    settings = TicketCoreSettings(api_token="service-token-for-this-test")
    redis = Redis.from_url(infra.redis_url)
    store = AgentSessions(redis)
    access = AgentAccess(settings, async_sessionmaker(engine), store)
    router = APIRouter(prefix="/api/v1", dependencies=[Depends(bearer_auth(settings))])

    @router.get("/new-feature")
    async def new_feature() -> dict[str, str]:
        return {"ok": "yes"}

    app = FastAPI()
    app.include_router(router)
    app.state.agent_access = access
    yield app
    await redis.aclose()


async def test_a_router_without_a_class_is_for_administrators_and_services_only(
    unclassified_app: FastAPI, tickets_api: Api
) -> None:
    admin, lead, specialist = [
        await logged_in(tickets_api, r) for r in ("administrator", "lead_specialist", "specialist")
    ]
    transport = httpx.ASGITransport(app=unclassified_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        url = "/api/v1/new-feature"
        assert (await client.get(url, headers=admin.headers)).status_code == 200
        for who in (lead, specialist):
            assert (await client.get(url, headers=who.headers)).status_code == 403
        service = {"Authorization": "Bearer service-token-for-this-test"}
        assert (await client.get(url, headers=service)).status_code == 200
        assert (await client.get(url)).status_code == 401  # the API token is set here
        assert (await client.get(url, headers={"Authorization": "Bearer nope"})).status_code == 401


@pytest.mark.parametrize(("allow_anonymous", "expected"), [(False, 401), (True, 200)])
async def test_without_an_api_token_anonymous_callers_are_refused_unless_allowed(
    engine: AsyncEngine, infra: Any, allow_anonymous: bool, expected: int
) -> None:
    """The default is closed: a desk deployed without ``TICKET_CORE_API_TOKEN`` does not
    trust requests without credentials; only ``TICKET_CORE_ALLOW_ANONYMOUS`` (tests) does."""
    settings = TicketCoreSettings(api_token=None, allow_anonymous=allow_anonymous)
    redis = Redis.from_url(infra.redis_url)
    access = AgentAccess(settings, async_sessionmaker(engine), AgentSessions(redis))
    router = APIRouter(prefix="/api/v1")

    @router.get("/groups-of-settings")
    async def settings_list() -> dict[str, str]:
        return {"ok": "yes"}

    app = FastAPI()
    app.include_router(access.protect(router, access.settings_router))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            answer = await client.get("/api/v1/groups-of-settings")
        assert answer.status_code == expected, answer.text
    finally:
        await redis.aclose()
