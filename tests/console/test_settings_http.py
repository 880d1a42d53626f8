"""The settings pages over plain HTTP with a session cookie: only administrators get in
(every settings URL, GET and POST, is a 403 for a lead and a specialist, and changes
nothing), a POST without the session's CSRF token is refused, and bad form input is a
422 page with the reason."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from ticket_core.console.branding_routes import branding_router
from ticket_core.console.kit import ConsoleKit
from ticket_core.console.settings_canned_routes import canned_settings_router
from ticket_core.console.settings_channel_routes import settings_channel_router
from ticket_core.console.settings_menu import SETTINGS_MENU
from ticket_core.console.settings_notification_routes import notification_settings_router
from ticket_core.console.settings_people_routes import settings_people_router
from ticket_core.console.settings_routes import settings_router
from ticket_core.console.settings_routing_routes import routing_settings_router
from ticket_core.console.settings_sla_routes import sla_settings_router
from ticket_core.console.settings_trigger_routes import trigger_settings_router

from . import test_settings_rules_roles as rules_roles
from .console_helpers import PASSWORD, Console, unique

SAMPLE = {
    "row_id": "1",
    "agent_id": "1",
    "group_id": "1",
    "channel": "email",
    "name": "some-box",
}


def _settings_routes() -> set[tuple[str, str]]:
    """(method, path) of every route of the settings routers, placeholders filled in."""
    kit = ConsoleKit(SimpleNamespace(console_push_url=None), None, None, None)  # type: ignore[arg-type]
    found: set[tuple[str, str]] = set()
    for build in (settings_router, settings_people_router, settings_channel_router):
        for route in build(kit).routes:
            path = re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], route.path)  # type: ignore[attr-defined]
            for method in route.methods:  # type: ignore[attr-defined]
                found.add((method, path))
    return found


ROUTES = sorted(_settings_routes())


@asynccontextmanager
async def logged_in_client(base: str, login: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """An HTTP client with the agent's session cookie, and the pages' CSRF token."""
    async with httpx.AsyncClient(base_url=base, timeout=15, follow_redirects=False) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"login": login, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        client.cookies.set("helpdesk_session", response.json()["token"])
        inbox = await client.get("/console/")
        assert inbox.status_code == 200
        marker = 'name="csrf_token" value="'
        start = inbox.text.index(marker) + len(marker)
        yield client, inbox.text[start : inbox.text.index('"', start)]


@pytest.fixture(scope="module")
async def non_admins(console: Console) -> AsyncIterator[dict[str, tuple[httpx.AsyncClient, str]]]:
    clients: dict[str, tuple[httpx.AsyncClient, str]] = {}
    managers = []
    for role in ("lead_specialist", "specialist"):
        agent = await console.agent(role)
        manager = logged_in_client(console.base, agent.login)
        clients[role] = await manager.__aenter__()
        managers.append(manager)
    yield clients
    for manager in managers:
        await manager.__aexit__(None, None, None)


def _every_settings_route() -> set[tuple[str, str]]:
    """(method, path template) of every ``/console/settings`` route of every console router."""
    kit = ConsoleKit(SimpleNamespace(console_push_url=None), None, None, None)  # type: ignore[arg-type]
    builders = (
        settings_router,
        settings_people_router,
        settings_channel_router,
        routing_settings_router,
        sla_settings_router,
        trigger_settings_router,
        notification_settings_router,
        canned_settings_router,
        branding_router,
    )
    return {
        (method, route.path)  # type: ignore[attr-defined]
        for build in builders
        for route in build(kit).routes
        if route.path.startswith("/console/settings")  # type: ignore[attr-defined]
        for method in route.methods  # type: ignore[attr-defined]
    }


def test_the_role_lists_cover_every_settings_route() -> None:
    """Each settings route is refused to non-administrators by this file's test, by
    test_settings_rules_roles.py (part B) or by the branding test."""
    checked = {(m, p) for m, p in ROUTES}
    checked |= {("GET", "/console" + p) for p in rules_roles.GET_PAGES}
    checked |= {("POST", "/console" + p) for p in rules_roles.POSTS}
    checked |= {("GET", "/console/settings/branding"), ("POST", "/console/settings/branding")}
    for method, template in _every_settings_route():
        pattern = re.compile("^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(template)) + "$")
        assert any(m == method and pattern.match(p) for m, p in checked), (method, template)
    for entry in SETTINGS_MENU:
        assert ("GET", entry.url) in checked, entry


async def _names(console: Console) -> set[str]:
    names: set[str] = set()
    for path in ("/api/v1/ticket-types", "/api/v1/statuses", "/api/v1/groups"):
        items = (await console.api.get(path, params={"limit": 200})).json()["items"]
        names.update(str(i["name"]) for i in items)
    return names


@pytest.mark.parametrize("role", ["lead_specialist", "specialist"])
@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_non_administrators_get_403_everywhere(
    console: Console,
    non_admins: dict[str, tuple[httpx.AsyncClient, str]],
    role: str,
    method: str,
    path: str,
) -> None:
    client, csrf = non_admins[role]
    name = unique("role-test-")
    if method == "GET":
        response = await client.get(path)
    else:  # a valid CSRF token: the refusal is the role's
        data: dict[str, Any] = {
            "csrf_token": csrf,
            "name": name,
            "category": "open",
            "colour": "#123456",
            "email": f"{name}@desk.test",
            "role": "administrator",
            "password": "x" * 12,
            "f_host": "127.0.0.1",
            "enabled": "1",
        }
        response = await client.post(path, data=data)
    assert response.status_code == 403, (method, path, response.status_code)
    assert "only administrators see the settings" in response.text
    assert response.headers["x-frame-options"] == "DENY"
    if method == "POST":
        assert name not in await _names(console)


async def test_settings_post_without_csrf_token_is_refused(console: Console) -> None:
    admin = await console.agent("administrator")
    async with logged_in_client(console.base, admin.login) as (client, csrf):
        index = await client.get("/console/settings")
        assert index.status_code == 200
        for entry in SETTINGS_MENU:
            assert f'href="{entry.url}"' in index.text
        assert 'id="nav-settings"' in index.text
        name = unique("Csrf type ")
        for token in (None, "0" * 64):
            data = {"name": name}
            if token:
                data["csrf_token"] = token
            refused = await client.post("/console/settings/types", data=data)
            assert refused.status_code == 403 and "reload the page" in refused.text
        assert name not in await _names(console)
        created = await client.post(
            "/console/settings/types", data={"name": name}, headers={"X-CSRF-Token": csrf}
        )
        assert created.status_code == 303
        assert name in await _names(console)


async def test_catalogue_and_agent_forms_refuse_bad_input_with_422(console: Console) -> None:
    admin = await console.agent("administrator")
    async with logged_in_client(console.base, admin.login) as (client, csrf):
        cases = [
            ("/console/settings/priorities", {"name": "P", "colour": "red"}, "colour"),
            ("/console/settings/statuses", {"name": "S", "category": "limbo"}, "category"),
            ("/console/settings/types", {"name": ""}, "name"),
            ("/console/settings/statuses", {"name": "S", "position": "x"}, "position"),
            (
                "/console/settings/agents",
                {"name": "N", "email": "not-an-address", "password": "x" * 12},
                "email",
            ),
            (
                "/console/settings/agents",
                {"name": "N", "email": f"{unique('a')}@desk.test", "password": "short"},
                "password",
            ),
        ]
        for path, data, word in cases:
            response = await client.post(path, data={**data, "csrf_token": csrf})
            assert response.status_code == 422, (path, data, response.status_code)
            assert word in response.text.lower(), (path, response.text[-600:])
        # A duplicate name is the API's 409, shown on the page.
        existing = (await console.api.get("/api/v1/ticket-types")).json()["items"][0]["name"]
        duplicate = await client.post(
            "/console/settings/types", data={"name": existing, "csrf_token": csrf}
        )
        assert duplicate.status_code == 409 and "already exists" in duplicate.text
        # The default priority cannot be deleted.
        priorities = (await console.api.get("/api/v1/priorities")).json()["items"]
        default = next(p for p in priorities if p["is_default"])
        kept = await client.post(
            f"/console/settings/priorities/{default['id']}/delete", data={"csrf_token": csrf}
        )
        assert kept.status_code == 409 and "is the default" in kept.text
        missing = await client.get("/console/settings/statuses/999999")
        assert missing.status_code == 404
