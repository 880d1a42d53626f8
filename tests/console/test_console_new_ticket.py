"""The console's "New ticket" page in a browser: an agent (a specialist: any role may)
reaches it from the top bar, picks a known contact from the suggestions, registers a
ticket and lands on its page showing what was entered; a contact named ambiguously or
not at all brings the form back (422) with the reason and the values kept."""

from __future__ import annotations

import json
import re

import httpx

from .console_helpers import Console, unique

URL = "/api/v1/tickets"


async def test_an_agent_registers_a_ticket_from_the_console(console: Console) -> None:
    agent = await console.agent("specialist")
    email = f"{unique('walkin-')}@example.test"
    known = await console.api.post(
        "/api/v1/contacts", json={"name": unique("Known "), "emails": [email]}
    )
    assert known.status_code == 201, known.text
    contact = known.json()
    opened = await console.log_in(agent)
    page = opened.page
    try:
        await page.click("#nav-new-ticket")
        await page.wait_for_url("**/console/tickets/new")

        # an unknown name: the form comes back with the reason and what was entered
        await page.fill("#nt-contact", unique("Nobody "))
        await page.fill("#nt-subject", "Broken badge reader")
        await page.fill("#nt-text", "The badge reader at door 3 beeps red")
        await page.click("#nt-create")
        await page.locator("p.error", has_text="no contact has that name").wait_for()
        assert await page.input_value("#nt-subject") == "Broken badge reader"
        assert "door 3" in await page.input_value("#nt-text")

        # suggestions as the agent types part of the address
        await page.fill("#nt-contact", "")
        await page.type("#nt-contact", email[:-5])
        option = page.locator(f'#nt-contact-suggestions option[value="{email}"]')
        await option.wait_for(state="attached")
        await page.fill("#nt-contact", email)
        await page.select_option("#nt-priority", label="high")
        await console.shot(page, "new-ticket-form")
        await page.click("#nt-create")
        await page.wait_for_url(re.compile(r".*/console/tickets/\d+\?done=created$"))
        ticket_id = int(page.url.rsplit("/", 1)[1].split("?")[0])
        summary = await page.text_content("#summary") or ""
        assert "Broken badge reader" in summary and "Priority: high" in summary
        assert "door 3 beeps red" in (await page.text_content("#thread") or "")
        await console.shot(page, "new-ticket-created")
        assert json.dumps(opened.errors) == "[]"
    finally:
        await opened.close()

    ticket = (await console.api.get(f"{URL}/{ticket_id}")).json()
    assert ticket["contact_id"] == contact["id"] and ticket["channel"] == "email"
    (note,) = ticket["messages"]
    assert note["kind"] == "internal_note" and note["author_agent_id"] == agent.id


async def test_the_new_ticket_form_refuses_a_stale_csrf_token(console: Console) -> None:
    agent = await console.agent("lead_specialist")
    opened = await console.log_in(agent)
    try:
        cookies = {c["name"]: c["value"] for c in await opened.context.cookies()}
    finally:
        await opened.close()
    async with httpx.AsyncClient(base_url=console.base, cookies=cookies, timeout=30) as client:
        response = await client.post(
            "/console/tickets/new",
            data={"csrf_token": "forged", "contact": "a@example.test", "subject": "x"},
            headers={"Origin": console.base},
        )
    assert response.status_code == 403 and "stale" in response.text
