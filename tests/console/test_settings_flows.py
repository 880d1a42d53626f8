"""The settings pages in the browser: a new status shows in the ticket page's status
select, priorities are reordered with the buttons and by dragging, an agent created by
the administrator logs in, deactivating an agent with open tickets shows the API's
refusal, a group gets members and a notify list. Screenshots of each page."""

from __future__ import annotations

from typing import Any

import httpx

from .console_helpers import PASSWORD, Agent, Console, unique


async def _new_ticket(console: Console, gateway: httpx.AsyncClient) -> dict[str, Any]:
    email = f"{unique('settings-')}@example.com"
    sent = await gateway.post("/api/v1/webform", json={"email": email, "text": "Hello"})
    assert sent.status_code == 202, sent.text
    return await console.ticket_for(email)


async def _priority_ids(console: Console) -> list[int]:
    """Most urgent first, as the API orders them by position."""
    items = (await console.api.get("/api/v1/priorities", params={"limit": 200})).json()["items"]
    return [int(p["id"]) for p in sorted(items, key=lambda p: (-p["position"], p["id"]))]


async def test_a_new_status_appears_in_the_ticket_page(
    console: Console, gateway: httpx.AsyncClient
) -> None:
    admin = await console.agent("administrator")
    ticket = await _new_ticket(console, gateway)
    opened = await console.log_in(admin)
    page = opened.page
    try:
        await page.click("#nav-settings")
        await console.shot(page, "settings-index")
        await page.click("a[href='/console/settings/statuses']")
        name = unique("Waiting for parts ")
        await page.fill("#create-form input[name=name]", name)
        await page.select_option("#create-form select[name=category]", "pending")
        await page.click("#create-form button[type=submit]")
        await page.wait_for_url("**/settings/statuses?done=created")
        assert name in await page.locator("table.settings-table").inner_text()
        await console.shot(page, "settings-statuses")

        await page.goto(console.url(f"/tickets/{ticket['id']}"))
        options = await page.locator("#status_id option").all_inner_texts()
        assert f"{name} (pending)" in options

        # Renaming it (edit form) shows the new name there too.
        statuses = (await console.api.get("/api/v1/statuses", params={"limit": 200})).json()
        status_id = next(s["id"] for s in statuses["items"] if s["name"] == name)
        await page.goto(console.url(f"/settings/statuses/{status_id}"))
        renamed = unique("Awaiting parts ")
        await page.fill("#edit-form input[name=name]", renamed)
        await page.click("#edit-form button[type=submit]")
        await page.wait_for_url("**/settings/statuses?done=saved")
        await page.goto(console.url(f"/tickets/{ticket['id']}"))
        options = await page.locator("#status_id option").all_inner_texts()
        assert f"{renamed} (pending)" in options and f"{name} (pending)" not in options
        assert not opened.errors
    finally:
        await opened.close()


async def test_reorder_priorities_with_buttons_and_drag(console: Console) -> None:
    admin = await console.agent("administrator")
    before = await _priority_ids(console)
    assert len(before) >= 3
    listed = (await console.api.get("/api/v1/priorities", params={"limit": 200})).json()
    seeded = {int(p["id"]): int(p["position"]) for p in listed["items"]}
    opened = await console.log_in(admin)
    page = opened.page
    try:
        await page.goto(console.url("/settings/priorities"))
        await console.shot(page, "settings-priorities")
        # The colour swatch is painted by settings.js (no inline styles under the CSP).
        swatch = page.locator(".swatch").first
        colour = await swatch.evaluate("el => getComputedStyle(el).backgroundColor")
        assert colour != "rgb(204, 204, 204)"

        # "Down" on the most urgent one swaps it with the second.
        await page.click(f"tr[data-id='{before[0]}'] button.move-down")
        await page.wait_for_url("**/settings/priorities?done=reordered")
        swapped = [before[1], before[0], *before[2:]]
        assert await _priority_ids(console) == swapped
        rows = await page.locator("tbody.sortable tr").evaluate_all(
            "rows => rows.map(r => Number(r.dataset.id))"
        )
        assert rows == swapped

        # Drag the last one onto the top.
        async with page.expect_navigation():
            await page.drag_and_drop(
                f"tr[data-id='{swapped[-1]}'] td.row-name",
                f"tr[data-id='{swapped[0]}'] td.row-name",
                target_position={"x": 5, "y": 2},
            )
        assert await _priority_ids(console) == [swapped[-1], *swapped[:-1]]
        assert not opened.errors
    finally:
        await opened.close()
        # Back to the exact positions the other tests' priorities are ranked against.
        for priority_id, position in seeded.items():
            restored = await console.api.patch(
                f"/api/v1/priorities/{priority_id}", json={"position": position}
            )
            assert restored.status_code == 200, restored.text


async def test_create_an_agent_who_then_logs_in(console: Console) -> None:
    admin = await console.agent("administrator")
    opened = await console.log_in(admin)
    page = opened.page
    login = unique("new.agent")
    name = unique("New Agent ")
    try:
        await page.goto(console.url("/settings/agents"))
        await page.fill("#create-agent input[name=name]", name)
        await page.fill("#create-agent input[name=email]", f"{login}@desk.test")
        await page.select_option("#create-agent select[name=role]", "lead_specialist")
        await page.fill("#create-agent input[name=login]", login)
        await page.fill("#create-agent input[name=password]", PASSWORD)
        await page.click("#create-agent button[type=submit]")
        await page.wait_for_url("**/settings/agents?done=created")
        row = page.locator("tr", has_text=name)
        assert "lead specialist" in await row.inner_text()
        await console.shot(page, "settings-agents")

        # No password given: one is generated and shown once.
        other = unique("Generated ")
        await page.fill("#create-agent input[name=name]", other)
        await page.fill("#create-agent input[name=email]", f"{unique('gen')}@desk.test")
        await page.click("#create-agent button[type=submit]")
        await page.wait_for_url("**/settings/agents?shown=*")
        shown = await page.locator("#initial-password code").inner_text()
        assert len(shown) >= 12 and other in await page.locator("#initial-password").inner_text()
        await page.reload()  # a GET: shown once, and nothing created twice
        assert await page.locator("#initial-password").count() == 0
        listed = (await console.api.get("/api/v1/agents", params={"limit": 200})).json()
        generated = [a for a in listed["items"] if a["name"] == other]
        assert len(generated) == 1
        async with httpx.AsyncClient(base_url=console.base, timeout=10) as client:
            signed_in = await client.post(
                "/api/v1/auth/login", json={"login": generated[0]["email"], "password": shown}
            )
        assert signed_in.status_code == 200, signed_in.text

        agents = (await console.api.get("/api/v1/agents", params={"limit": 200})).json()
        created = next(a for a in agents["items"] if a["name"] == name)
        assert created["role"] == "lead_specialist" and created["login"] == login
        as_them = await console.log_in(Agent(int(created["id"]), login, name))
        try:
            assert name in await as_them.page.locator(".me").inner_text()
            # a lead sees no Settings link and is refused the page
            assert await as_them.page.locator("#nav-settings").count() == 0
            refused = await as_them.page.goto(console.url("/settings"))
            assert refused is not None and refused.status == 403
        finally:
            await as_them.close()

        # Change the role and reset the password from the agent's page.
        await page.goto(console.url(f"/settings/agents/{created['id']}"))
        await page.select_option("#agent-form select[name=role]", "specialist")
        await page.click("#agent-form button[type=submit]")
        await page.wait_for_url(f"**/settings/agents/{created['id']}?done=saved")
        new_password = "An0ther-Passw0rd"
        await page.fill("#credentials-form input[name=password]", new_password)
        await page.click("#credentials-form button[type=submit]")
        await page.wait_for_url(f"**/settings/agents/{created['id']}?done=credentials")
        agent = (await console.api.get(f"/api/v1/agents/{created['id']}")).json()
        assert agent["role"] == "specialist"
        async with httpx.AsyncClient(base_url=console.base, timeout=10) as client:
            old = await client.post(
                "/api/v1/auth/login", json={"login": login, "password": PASSWORD}
            )
            new = await client.post(
                "/api/v1/auth/login", json={"login": login, "password": new_password}
            )
        assert old.status_code == 401 and new.status_code == 200
        assert not opened.errors
    finally:
        await opened.close()


async def test_deactivating_an_agent_with_open_tickets_is_refused(
    console: Console, gateway: httpx.AsyncClient
) -> None:
    admin = await console.agent("administrator")
    busy = await console.agent("specialist")
    ticket = await _new_ticket(console, gateway)
    assigned = await console.api.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"responsible_agent_id": busy.id},
        headers={"X-Agent-Id": str(admin.id)},
    )
    assert assigned.status_code == 200, assigned.text
    opened = await console.log_in(admin)
    page = opened.page
    try:
        await page.goto(console.url(f"/settings/agents/{busy.id}"))
        await page.click("#deactivate")
        error = page.locator(".error[role=alert]")
        await error.wait_for()
        text = await error.inner_text()
        assert "open or pending ticket(s)" in text and f"#{ticket['number']}" in text
        assert "reassign them" in text
        agent = (await console.api.get(f"/api/v1/agents/{busy.id}")).json()
        assert agent["active"] is True
        await console.shot(page, "settings-agent-refused")

        # Without open tickets the same button deactivates.
        idle = await console.agent("specialist")
        await page.goto(console.url(f"/settings/agents/{idle.id}"))
        await page.click("#deactivate")
        await page.wait_for_url(f"**/settings/agents/{idle.id}?done=saved")
        assert (await console.api.get(f"/api/v1/agents/{idle.id}")).json()["active"] is False
        assert await page.locator("#activate").count() == 1
    finally:
        await opened.close()


async def test_groups_members_and_notify_list(console: Console) -> None:
    admin = await console.agent("administrator")
    first, second = await console.agent("specialist"), await console.agent("specialist")
    opened = await console.log_in(admin)
    page = opened.page
    try:
        await page.goto(console.url("/settings/groups"))
        name = unique("Second line ")
        await page.fill("#create-group input[name=name]", name)
        await page.select_option(
            "#create-group select[name=member_ids]", [str(first.id), str(second.id)]
        )
        await page.click("#create-group button[type=submit]")
        await page.wait_for_url("**/settings/groups?done=created")
        groups = (await console.api.get("/api/v1/groups", params={"limit": 200})).json()
        group = next(g for g in groups["items"] if g["name"] == name)
        assert sorted(group["member_ids"]) == sorted([first.id, second.id])

        await page.goto(console.url(f"/settings/groups?edit={group['id']}"))
        await page.select_option("#group-form select[name=member_ids]", [str(first.id)])
        await page.select_option("#group-form select[name=notify_ids]", [str(first.id)])
        await page.click("#group-form button[type=submit]")
        await page.wait_for_url("**/settings/groups?done=saved")
        group = (await console.api.get(f"/api/v1/groups/{group['id']}")).json()
        assert group["member_ids"] == [first.id]
        notified = await console.api.get(f"/api/v1/notifications/groups/{group['id']}/members")
        assert notified.status_code == 200, notified.text
        assert notified.json()["agent_ids"] == [first.id]
        row = page.locator("tr", has_text=name)
        assert first.name in await row.inner_text()
        await console.shot(page, "settings-groups")
        assert not opened.errors
    finally:
        await opened.close()
