"""Settings part B (routing, SLA, calendars, triggers, notification templates, canned
responses) are for administrators: a lead specialist and a specialist get 403 on every
page and every write (with a valid CSRF token, so the refusal is the role's), and nothing
changes; an administrator gets each page."""

from __future__ import annotations

import httpx
import pytest
from helpdesk_common.notification_templates import TYPES

from .console_helpers import PASSWORD, Console, unique

TYPE_KEY = next(iter(TYPES))
GET_PAGES = [
    "/settings/routing",
    "/settings/routing/new",
    "/settings/routing/1",
    "/settings/sla",
    "/settings/sla/new",
    "/settings/sla/1",
    "/settings/calendars",
    "/settings/calendars/new",
    "/settings/calendars/1",
    "/settings/triggers",
    "/settings/triggers/new",
    "/settings/triggers/1",
    "/settings/notifications",
    f"/settings/notifications/types/{TYPE_KEY}",
    "/settings/canned",
    "/settings/canned/new",
    "/settings/canned/1",
]
POSTS = [
    "/settings/routing/new",
    "/settings/routing/1",
    "/settings/routing/1/delete",
    "/settings/routing/order",
    "/settings/routing/1/move",
    "/settings/routing/1/enabled",
    "/settings/routing-load",
    "/settings/sla/new",
    "/settings/sla/1",
    "/settings/sla/order",
    "/settings/sla/1/move",
    "/settings/sla/1/enabled",
    "/settings/sla/1/delete",
    "/settings/calendars/new",
    "/settings/calendars/1",
    "/settings/calendars/1/delete",
    "/settings/triggers/new",
    "/settings/triggers/1",
    "/settings/triggers/1/delete",
    "/settings/triggers/order",
    "/settings/triggers/1/move",
    "/settings/triggers/1/enabled",
    f"/settings/notifications/types/{TYPE_KEY}",
    "/settings/notifications/layout",
    "/settings/canned/new",
    "/settings/canned/1",
    "/settings/canned/1/delete",
]
ADMIN_PAGES = [p for p in GET_PAGES if not p.endswith("/1")]


async def logged_in_client(console: Console, role: str) -> tuple[httpx.AsyncClient, str]:
    agent = await console.agent(role)
    client = httpx.AsyncClient(base_url=console.base, timeout=15, follow_redirects=False)
    response = await client.post(
        "/api/v1/auth/login", json={"login": agent.login, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    client.cookies.set("helpdesk_session", response.json()["token"])
    inbox = await client.get("/console/")
    marker = 'name="csrf_token" value="'
    start = inbox.text.index(marker) + len(marker)
    return client, inbox.text[start : inbox.text.index('"', start)]


@pytest.mark.parametrize("role", ["lead_specialist", "specialist"])
async def test_non_administrators_are_refused_everywhere(console: Console, role: str) -> None:
    client, csrf = await logged_in_client(console, role)
    name = unique("Refused rule ")
    try:
        for path in GET_PAGES:
            page = await client.get("/console" + path)
            assert page.status_code == 403, (path, page.status_code)
            assert "only administrators" in page.text
        form = {
            "csrf_token": csrf,
            "name": name,
            "title": name,
            "text": "x",
            "enabled": "1",
            "order": "1",
            "direction": "up",
            "timezone": "UTC",
            "hours_monday": "09:00-18:00",
            "event": "ticket.created",
            "actions": '[{"type": "add_tag", "tag": "x"}]',
            "subject": "s",
            "body": "b",
            "sms": "s",
            "layout": "{{ content }}",
        }
        for path in POSTS:
            response = await client.post("/console" + path, data=form)
            assert response.status_code == 403, (path, response.status_code)
    finally:
        await client.aclose()
    rules = await console.api.get("/api/v1/routing/rules", params={"limit": 200})
    assert name not in {r["name"] for r in rules.json()["items"]}
    canned = await console.api.get("/api/v1/canned-responses", params={"q": name})
    assert canned.json()["total"] == 0


async def test_administrator_sees_every_page_with_the_way_back(console: Console) -> None:
    client, _ = await logged_in_client(console, "administrator")
    try:
        for path in ADMIN_PAGES:
            page = await client.get("/console" + path)
            assert page.status_code == 200, (path, page.status_code, page.text[:500])
            assert 'href="/console/settings"' in page.text
        missing = await client.get("/console/settings/routing/999999999")
        assert missing.status_code == 404
        bad = await client.get(f"/console/settings/notifications/types/{unique('nope.')}")
        assert bad.status_code == 404
    finally:
        await client.aclose()


async def test_order_refusals_and_the_load_statuses(console: Console) -> None:
    client, csrf = await logged_in_client(console, "administrator")
    try:
        # The order endpoint (what the drag script posts) checks what it gets.
        garbage = await client.post(
            "/console/settings/triggers/order", data={"csrf_token": csrf, "order": "1,x"}
        )
        assert garbage.status_code == 422 and "ids separated by commas" in garbage.text
        partial = await client.post(
            "/console/settings/sla/order",
            data={"csrf_token": csrf, "order": "999999999"},
            headers={"X-Requested-With": "ordered-table"},
        )
        assert partial.status_code == 422 and "rule_ids must list every rule once" in partial.text
        stale = await client.post(
            "/console/settings/routing/order", data={"csrf_token": "stale", "order": "1"}
        )
        assert stale.status_code == 403
        missing = await client.post(
            "/console/settings/triggers/999999999/move",
            data={"csrf_token": csrf, "direction": "up"},
        )
        assert missing.status_code == 404

        # Statuses not counted toward load: unchecked ones are switched off, then back.
        statuses = (await console.api.get("/api/v1/statuses", params={"limit": 200})).json()
        ids = [s["id"] for s in statuses["items"]]
        left_out = ids[-1]
        saved = await client.post(
            "/console/settings/routing-load",
            data={"csrf_token": csrf, "counts": [str(i) for i in ids[:-1]]},
        )
        assert saved.status_code == 303
        status = (await console.api.get(f"/api/v1/statuses/{left_out}")).json()
        assert status["counts_toward_load"] is False
        page = await client.get("/console/settings/routing")
        assert f'name="counts" value="{left_out}" >' in page.text  # shown unchecked
        restored = await client.post(
            "/console/settings/routing-load",
            data={"csrf_token": csrf, "counts": [str(i) for i in ids]},
        )
        assert restored.status_code == 303
        status = (await console.api.get(f"/api/v1/statuses/{left_out}")).json()
        assert status["counts_toward_load"] is True
    finally:
        await client.aclose()
