"""The agent's day in a real browser: log in, see a web-form ticket in the inbox, answer it
(the mail reaches the SMTP sink), change its status, and watch the customer's answer
arrive live (a toast and the new message, no reload)."""

from __future__ import annotations

from typing import Any

import httpx
from devstack.probes import eventually
from playwright.async_api import expect

from .console_helpers import TIMEOUT, Console, unique


async def test_login_inbox_reply_status_and_live_answer(
    console: Console, gateway: httpx.AsyncClient, mail_sink: Any
) -> None:
    agent = await console.agent("administrator")
    customer = f"{unique('customer-')}@example.com"
    subject = unique("Printer on fire ")
    sent = await gateway.post(
        "/api/v1/webform",
        json={"name": "Carla Customer", "email": customer, "subject": subject, "text": "Help!"},
    )
    assert sent.status_code == 202, sent.text
    ticket = await console.ticket_for(customer)
    canned_title = unique("Extinguisher ")
    canned = await console.api.post(
        "/api/v1/canned-responses",
        json={
            "title": canned_title,
            "text": "Hello {{ contact.name }}, we are on our way with an extinguisher.",
        },
    )
    assert canned.status_code == 201, canned.text

    # A wrong password is refused on the page; the right one opens the inbox.
    opened = await console.open_page()
    page = opened.page
    await page.goto(console.url("/login"))
    await console.shot(page, "login")
    await page.fill("input[name=login]", agent.login)
    await page.fill("input[name=password]", "not-the-password")
    await page.click("button[type=submit]")
    assert "wrong login or password" in (await page.text_content(".error") or "").lower()
    await page.close()
    await opened.close()

    agent_page = await console.log_in(agent)
    page = agent_page.page
    try:
        # The new ticket is in the inbox, in bold (nobody answered yet); search finds it.
        await page.fill("#q", subject)
        row = page.locator(f"tr.ticket-row[data-ticket-id='{ticket['id']}']")
        await row.wait_for()
        assert "unread" in (await row.get_attribute("class") or "")
        # The search narrows the list once htmx swapped its answer in (not at once).
        # (a locator assertion: wait_for_function would eval in the page, which the CSP forbids)
        await expect(page.locator("tr.ticket-row")).to_have_count(1, timeout=TIMEOUT * 1000)
        await console.shot(page, "inbox")

        # The ticket page: the thread, the reply box defaulting to email (web form).
        await row.locator("a.subject").click()
        await page.wait_for_url(console.url(f"/tickets/{ticket['id']}"))
        assert await page.locator("select[name=channel]").input_value() == "email"
        assert "Help!" in (await page.text_content("#thread") or "")
        # A canned response fills the reply box, rendered for this ticket.
        picked = page.locator("select[name=canned_id] option", has_text=canned_title)
        await page.select_option("select[name=canned_id]", await picked.get_attribute("value"))
        await page.locator(
            "textarea[name=text]", has_text="Hello Carla Customer, we are on our way"
        ).wait_for()
        await page.click("#send")
        await page.wait_for_selector("p.notice")
        assert "Reply queued" in (await page.text_content("p.notice") or "")

        async def mails() -> list[Any]:
            return [m for m in mail_sink.received if m["To"] == customer]

        received = await eventually(mails, lambda m: len(m) == 1, TIMEOUT, "mail to customer")
        assert received[0]["Subject"] == f"Re: {subject} [#{ticket['number']}]"
        assert "extinguisher" in received[0].get_body(("plain",)).get_content()
        await page.reload()
        reply = page.locator("article.kind-public_reply")
        assert "extinguisher" in (await reply.text_content() or "")

        # Change the status with the side form: resolved.
        resolved = page.locator("#status_id option", has_text="(resolved)").first
        await page.select_option("#status_id", await resolved.get_attribute("value"))
        await page.click("#save-ticket")
        await page.wait_for_selector("p.notice")
        assert (await console.api.get(f"/api/v1/tickets/{ticket['id']}")).json()[
            "status"
        ] == "resolved"
        await console.shot(page, "ticket")

        # The customer answers: the push reaches the page, which shows a toast and the new
        # message without reloading (the marker set on this document survives).
        await page.evaluate("window.__sameDocument = true")
        answer = await gateway.post(
            "/api/v1/webform", json={"email": customer, "text": "Thanks, the fire is out."}
        )
        assert answer.status_code == 202
        toast = page.locator(".toast", has_text="New message")
        await toast.wait_for()
        assert f"#{ticket['number']}" in (await toast.text_content() or "")
        await page.locator("#thread", has_text="the fire is out").wait_for()
        assert await page.evaluate("window.__sameDocument === true")
        await page.locator("#ticket-status", has_text="open").wait_for()  # reopened, live
        assert agent_page.errors == [] and agent_page.dialogs == []
    finally:
        await agent_page.close()
