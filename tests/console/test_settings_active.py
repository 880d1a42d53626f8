"""Switching ticket types, priorities and statuses off on their settings pages: an
administrator deactivates a type in the browser; the ticket that has it keeps and shows
it, other tickets and the new-ticket form no longer offer it; a default status cannot be
switched off (422 with the reason); leads and specialists are refused (403) and change
nothing. Every row switched off here is made by the test and switched on again at its
end (the session shares one desk: other tests must not meet an inactive row)."""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from .console_helpers import Console, unique
from .page_client import logged_in_client

MADE: list[str] = []  # rows of the running test, switched on again at its end


@pytest.fixture(autouse=True)
async def switched_on_again(console: Console) -> AsyncIterator[None]:
    yield
    while MADE:
        await console.api.patch(MADE.pop(), json={"active": True})


async def _ticket(console: Console, **extra: Any) -> dict[str, Any]:
    made = await console.api.post(
        "/api/v1/tickets",
        json={"email": f"{unique('act-')}@example.test", "subject": unique("Active "), **extra},
    )
    assert made.status_code == 201, made.text
    ticket: dict[str, Any] = made.json()
    return ticket


async def _type(console: Console, type_id: int) -> dict[str, Any]:
    found = await console.api.get(f"/api/v1/ticket-types/{type_id}")
    assert found.status_code == 200, found.text
    row: dict[str, Any] = found.json()
    return row


async def test_an_administrator_switches_a_type_off_and_its_ticket_keeps_it(
    console: Console,
) -> None:
    made = await console.api.post("/api/v1/ticket-types", json={"name": unique("Walk-in ")})
    assert made.status_code == 201, made.text
    kind = made.json()
    MADE.append(f"/api/v1/ticket-types/{kind['id']}")
    keeper = await _ticket(console, type_id=kind["id"])
    other = await _ticket(console)
    admin = await console.agent("administrator")
    opened = await console.log_in(admin)
    page = opened.page
    try:
        await page.goto(console.url("/settings/types"))
        row = page.locator(f"tr[data-id='{kind['id']}']")
        assert (await row.locator(".row-active").text_content() or "").strip().startswith("yes")
        await row.locator("button.toggle-active").click()
        await page.wait_for_url(console.url("/settings/types?done=deactivated"))
        row = page.locator(f"tr[data-id='{kind['id']}']")
        assert "no" in (await row.locator(".row-active").text_content() or "")
        assert (await row.locator("button.toggle-active").text_content() or "") == "Activate"
        await console.shot(page, "settings-type-inactive")
        assert (await _type(console, kind["id"]))["active"] is False

        # the ticket that has it keeps it, marked inactive, and saves other changes
        await page.goto(console.url(f"/tickets/{keeper['id']}"))
        chosen = page.locator("#change-form select[name=type_id] option:checked")
        assert (await chosen.text_content() or "") == f"{kind['name']} (inactive)"
        assert kind["name"] in (await page.text_content("#summary") or "")
        await page.select_option("#change-form select[name=priority_id]", index=0)
        await page.click("#save-ticket")
        await (
            page.locator(".notice", has_text="Ticket updated")
            .or_(page.locator(".notice", has_text="Nothing changed"))
            .wait_for()
        )
        kept = (await console.api.get(f"/api/v1/tickets/{keeper['id']}")).json()
        assert kept["type_id"] == kind["id"]

        # no new choice: another ticket's form and the new-ticket form do not offer it
        await page.goto(console.url(f"/tickets/{other['id']}"))
        offered = page.locator(f"#change-form select[name=type_id] option[value='{kind['id']}']")
        assert await offered.count() == 0
        await page.goto(console.url("/tickets/new"))
        assert await page.locator(f"#nt-type option[value='{kind['id']}']").count() == 0

        # a default status cannot be switched off: 422 with the reason
        statuses = (await console.api.get("/api/v1/statuses", params={"limit": 200})).json()
        open_default = next(
            s for s in statuses["items"] if s["is_default"] and s["category"] == "open"
        )
        await page.goto(console.url("/settings/statuses"))
        refused = page.locator(f"tr[data-id='{open_default['id']}'] button.toggle-active")
        async with page.expect_response(lambda r: r.request.method == "POST") as answer:
            await refused.click()
        assert (await answer.value).status == 422
        assert "cannot be inactive" in (await page.text_content("main") or "")
        assert json.dumps(opened.errors) == "[]"
    finally:
        await opened.close()
    after = (await console.api.get(f"/api/v1/statuses/{open_default['id']}")).json()
    assert after["active"] is True


async def test_only_administrators_switch_rows_and_forms_are_checked(console: Console) -> None:
    made = await console.api.post(
        "/api/v1/priorities", json={"name": unique("Prio "), "position": 5, "colour": "#123456"}
    )
    assert made.status_code == 201, made.text
    priority = made.json()
    MADE.append(f"/api/v1/priorities/{priority['id']}")
    url = f"/console/settings/priorities/{priority['id']}/active"
    for role in ("lead_specialist", "specialist"):
        agent = await console.agent(role)
        async with logged_in_client(console, agent.login) as (client, csrf):
            refused = await client.post(url, data={"csrf_token": csrf, "active": "0"})
            assert refused.status_code == 403, (role, refused.text)
            assert (await client.get("/console/settings/priorities")).status_code == 403
    admin = await console.agent("administrator")
    async with logged_in_client(console, admin.login) as (client, csrf):
        stale = await client.post(url, data={"csrf_token": "0" * 64, "active": "0"})
        assert stale.status_code == 403
        bad = await client.post(url, data={"csrf_token": csrf, "active": "maybe"})
        assert bad.status_code == 422 and "active must be 1 or 0" in bad.text
        missing = await client.post(
            "/console/settings/priorities/999999999/active",
            data={"csrf_token": csrf, "active": "0"},
        )
        assert missing.status_code == 404
        listed = (await console.api.get(f"/api/v1/priorities/{priority['id']}")).json()
        assert listed["active"] is True  # nothing above changed it
        done = await client.post(url, data={"csrf_token": csrf, "active": "0"})
        assert done.status_code == 303
        assert done.headers["location"] == "/console/settings/priorities?done=deactivated"
    listed = (await console.api.get(f"/api/v1/priorities/{priority['id']}")).json()
    assert listed["active"] is False


def _select(page: str, name: str) -> str:
    """The markup of the page's ``<select name=...>``."""
    start = page.index(f'<select name="{name}"')
    return page[start : page.index("</select>", start)]


async def test_the_trigger_editor_offers_only_active_rows_and_refuses_an_inactive_one(
    console: Console,
) -> None:
    made = await console.api.post(
        "/api/v1/statuses", json={"name": unique("Parked "), "category": "open", "position": 902}
    )
    assert made.status_code == 201, made.text
    status = made.json()
    MADE.append(f"/api/v1/statuses/{status['id']}")
    never = {"field": "contact.email", "op": "eq", "value": f"{unique('n')}@never.test"}
    sets = [{"type": "set_status", "status_id": status["id"]}]
    holder = await console.api.post(
        "/api/v1/triggers",
        json={
            "name": unique("Parker "),
            "event": "ticket.created",
            "conditions": {"all": [never]},
            "actions": sets,
            "enabled": False,
        },
    )
    assert holder.status_code == 201, holder.text
    trigger = holder.json()
    switched = await console.api.patch(f"/api/v1/statuses/{status['id']}", json={"active": False})
    assert switched.status_code == 200, switched.text
    option = f'<option value="{status["id"]}"'
    admin = await console.agent("administrator")
    try:
        async with logged_in_client(console, admin.login) as (client, csrf):
            blank = await client.get("/console/settings/triggers/new")
            assert blank.status_code == 200
            assert option not in _select(blank.text, "quick_status_id")
            open_default = next(
                s
                for s in (await console.api.get("/api/v1/statuses", params={"limit": 200})).json()[
                    "items"
                ]
                if s["is_default"] and s["category"] == "open"
            )
            assert f'<option value="{open_default["id"]}"' in _select(blank.text, "quick_status_id")

            name = unique("Refused ")
            form = {
                "csrf_token": csrf,
                "name": name,
                "event": "ticket.created",
                "conditions": json.dumps({"all": [never]}),
                "actions": "",
                "quick_status_id": str(status["id"]),
            }
            refused = await client.post("/console/settings/triggers/new", data=form)
            assert refused.status_code == 422, refused.text
            shown = html.unescape(refused.text)
            assert f"actions[0]: status {status['name']!r} is inactive" in shown
            picked = _select(refused.text, "quick_status_id")  # what was refused, marked
            assert f"{option} selected>{html.escape(status['name'])} (inactive)" in picked
            listed = (await console.api.get("/api/v1/triggers", params={"limit": 200})).json()
            assert name not in [t["name"] for t in listed["items"]]

            # the trigger that set it before keeps it when saved on its page
            page = await client.get(f"/console/settings/triggers/{trigger['id']}")
            assert page.status_code == 200
            assert f'"status_id": {status["id"]}' in html.unescape(page.text)
            renamed = unique("Parker ")
            saved = await client.post(
                f"/console/settings/triggers/{trigger['id']}",
                data={**form, "name": renamed, "actions": json.dumps(sets), "quick_status_id": ""},
            )
            assert saved.status_code == 303, saved.text
            after = (await console.api.get(f"/api/v1/triggers/{trigger['id']}")).json()
            assert (after["name"], after["actions"]) == (renamed, sets)
    finally:
        assert (await console.api.delete(f"/api/v1/triggers/{trigger['id']}")).status_code == 204
