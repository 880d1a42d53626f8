"""The console's defences: security headers, login required (even though the test
system's REST API is open), CSRF on every form, no open redirect after login, a
specialist sees only their tickets, and customer content (HTML, subject, sender name,
attachment name, a caller's card) shows as text and runs nothing."""

from __future__ import annotations

import json
import uuid

import httpx
from devstack.probes import produce_records
from devstack.stack import Stack
from helpdesk_common.agent_push import PUSH_CHANNEL, encode_push
from helpdesk_common.records import (
    AttachmentRef,
    Channel,
    InboundMessage,
    SenderIdentity,
    ThreadHints,
)
from helpdesk_common.topics import INBOUND_MESSAGES
from redis.asyncio import Redis
from ticket_core.console.security import LOGIN_CSRF_COOKIE

from .console_helpers import PASSWORD, Console, unique

XSS = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2;alert(2)</script>'


def _page_client(console: Console) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=console.base, timeout=15, follow_redirects=False)


async def _log_in(client: httpx.AsyncClient, login: str) -> str:
    """Give the client a session cookie; the CSRF token the pages carry."""
    response = await client.post("/api/v1/auth/login", json={"login": login, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.set("helpdesk_session", response.json()["token"])
    inbox = await client.get("/console/")
    assert inbox.status_code == 200
    marker = 'name="csrf_token" value="'
    start = inbox.text.index(marker) + len(marker)
    return inbox.text[start : inbox.text.index('"', start)]


async def test_headers_login_required_csrf_and_no_open_redirect(
    console: Console, gateway: httpx.AsyncClient
) -> None:
    agent = await console.agent("administrator")
    async with _page_client(console) as anonymous:
        # No session: the login page, although the REST API itself is open here.
        inbox = await anonymous.get("/console/?mine=1")
        assert inbox.status_code == 303
        assert inbox.headers["location"] == "/console/login?next=%2Fconsole%2F%3Fmine%3D1"
        hx = await anonymous.get("/console/inbox", headers={"HX-Request": "true"})
        assert hx.headers["HX-Redirect"].startswith("/console/login")

        login_page = await anonymous.get("/console/login")
        assert login_page.status_code == 200
        csp = login_page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert login_page.headers["x-frame-options"] == "DENY"
        assert login_page.headers["x-content-type-options"] == "nosniff"
        assert login_page.headers["referrer-policy"] == "same-origin"
        assert "<script>" not in login_page.text  # scripts only from files

        # The login form's CSRF token must match its cookie.
        forged = await anonymous.post(
            "/console/login",
            data={"login": agent.login, "password": PASSWORD, "csrf_token": "guess"},
        )
        assert forged.status_code == 403 and "helpdesk_session" not in forged.cookies

        # A good login never redirects off the console.
        token = login_page.text.split('name="csrf_token" value="')[1].split('"')[0]
        assert login_page.cookies[LOGIN_CSRF_COOKIE] == token
        # (the cookie is Secure: httpx keeps it from plain http, a browser on 127.0.0.1 not)
        anonymous.cookies.set(LOGIN_CSRF_COOKIE, token)
        done = await anonymous.post(
            "/console/login",
            data={
                "login": agent.login,
                "password": PASSWORD,
                "csrf_token": token,
                "next": "//evil.example/steal",
            },
        )
        assert done.status_code == 303 and done.headers["location"] == "/console/"
        assert done.cookies.get("helpdesk_session")

    ticket = await _new_ticket(console, gateway)
    async with _page_client(console) as client:
        csrf = await _log_in(client, agent.login)
        page = await client.get(f"/console/tickets/{ticket}")
        assert page.status_code == 200
        assert "connect-src 'self' ws://127.0.0.1:" in page.headers["content-security-policy"]
        before = len(await console.messages_of(ticket))
        # Writes without the session's CSRF token are refused and change nothing.
        for token in (None, "0" * 64):
            data = {"text": "forged note", "mode": "note"}
            if token:
                data["csrf_token"] = token
            refused = await client.post(f"/console/tickets/{ticket}/reply", data=data)
            assert refused.status_code == 403
            assert refused.headers["x-frame-options"] == "DENY"
        assert len(await console.messages_of(ticket)) == before
        # With the token (hidden field or HTMX header) the note is stored.
        note = await client.post(
            f"/console/tickets/{ticket}/reply",
            data={"text": "real note", "mode": "note"},
            headers={"X-CSRF-Token": csrf},
        )
        assert note.status_code == 303
        notes = [m for m in await console.messages_of(ticket) if m["text"] == "real note"]
        assert len(notes) == 1 and notes[0]["kind"] == "internal_note"
        # The side form changes only what it names (observers here)...
        watched = await client.post(
            f"/console/tickets/{ticket}/change",
            data={
                "csrf_token": csrf,
                "observer_agent_ids_given": "1",
                "observer_agent_ids": str(agent.id),
            },
        )
        assert watched.status_code == 303, watched.text
        detail = (await console.api.get(f"/api/v1/tickets/{ticket}")).json()
        assert detail["observer_agent_ids"] == [agent.id] and detail["status"] == "open"
        # ... and "send and resolve" answers and resolves in one go.
        solved = await client.post(
            f"/console/tickets/{ticket}/reply",
            data={"text": "Fixed it.", "action": "send_resolve", "csrf_token": csrf},
        )
        assert solved.status_code == 303
        assert solved.headers["location"].endswith("?done=sent_resolved")
        detail = (await console.api.get(f"/api/v1/tickets/{ticket}")).json()
        assert detail["status"] == "resolved"
        assert [m["text"] for m in detail["messages"] if m["kind"] == "public_reply"] == [
            "Fixed it."
        ]
        # A file on the thread is a download link that works with the session cookie.
        uploaded = await console.api.post(
            "/api/v1/attachments", files={"file": ("report.txt", b"disk full", "text/plain")}
        )
        assert uploaded.status_code == 201, uploaded.text
        file = uploaded.json()
        with_file = await console.api.post(
            f"/api/v1/tickets/{ticket}/replies",
            json={"text": "See the report", "internal": True, "attachments": [file]},
            headers={"X-Agent-Id": str(agent.id)},
        )
        assert with_file.status_code == 201, with_file.text
        link = f"/api/v1/tickets/{ticket}/attachments/{file['sha256']}"
        assert f'href="{link}"' in (await client.get(f"/console/tickets/{ticket}")).text
        download = await client.get(link)
        assert download.status_code == 200 and download.content == b"disk full"
        assert download.headers["content-disposition"].startswith("attachment")
        # Bad input: a clear 4xx, never a 500.
        bad = await client.get("/console/?priority_id=abc")
        assert bad.status_code == 422
        assert (await client.get("/console/tickets/999999999")).status_code == 404
        empty = await client.post(
            f"/console/tickets/{ticket}/reply", data={"text": " ", "csrf_token": csrf}
        )
        assert empty.status_code == 422
        # Logging out ends the session: the cookie no longer opens the console.
        out = await client.post("/console/logout", data={"csrf_token": csrf})
        assert out.status_code == 303
    async with _page_client(console) as again:
        again.cookies.set("helpdesk_session", client.cookies.get("helpdesk_session") or "x")
        assert (await again.get("/console/")).status_code == 303


async def _new_ticket(console: Console, gateway: httpx.AsyncClient) -> int:
    email = f"{unique('csrf-')}@example.com"
    sent = await gateway.post("/api/v1/webform", json={"email": email, "text": "Hello"})
    assert sent.status_code == 202, sent.text
    return int((await console.ticket_for(email))["id"])


async def test_a_specialist_sees_only_their_tickets(
    console: Console, gateway: httpx.AsyncClient
) -> None:
    specialist = await console.agent("specialist")
    mine_email, other_email = (f"{unique(p)}@example.com" for p in ("mine-", "other-"))
    mine_subject, other_subject = unique("Mine "), unique("Other ")
    for email, subject in ((mine_email, mine_subject), (other_email, other_subject)):
        sent = await gateway.post(
            "/api/v1/webform", json={"email": email, "subject": subject, "text": "x"}
        )
        assert sent.status_code == 202
    mine, other = await console.ticket_for(mine_email), await console.ticket_for(other_email)
    admin = await console.agent("administrator")
    assigned = await console.api.patch(
        f"/api/v1/tickets/{mine['id']}",
        json={"responsible_agent_id": specialist.id},
        headers={"X-Agent-Id": str(admin.id)},
    )
    assert assigned.status_code == 200, assigned.text

    opened = await console.log_in(specialist)
    page = opened.page
    try:
        await page.fill("#q", mine_subject)
        await page.locator(f"tr[data-ticket-id='{mine['id']}']").wait_for()
        assert await page.locator(f"tr[data-ticket-id='{other['id']}']").count() == 0
        await page.fill("#q", other_subject)
        await page.locator("#inbox-results", has_text="No tickets match").wait_for()
        response = await page.goto(console.url(f"/tickets/{other['id']}"))
        assert response is not None and response.status == 404
        assert other_subject not in await page.content()
        response = await page.goto(console.url(f"/tickets/{mine['id']}"))
        assert response is not None and response.status == 200
        assert mine_subject in (await page.text_content("#summary") or "")
        # Writing to the other ticket with a valid token is refused as "not found" too.
        csrf = await page.locator("input[name=csrf_token]").first.get_attribute("value")
        before = len(await console.messages_of(other["id"]))
        forged = await page.request.post(
            console.url(f"/tickets/{other['id']}/reply"),
            form={"text": "sneaky", "mode": "note", "csrf_token": csrf or ""},
            max_redirects=0,
        )
        assert forged.status == 404
        assert len(await console.messages_of(other["id"])) == before
    finally:
        await opened.close()


async def test_stored_xss_shows_as_text_and_runs_nothing(console: Console, running: Stack) -> None:
    assert running.infra is not None
    customer = f"{unique('xss-')}@example.com"
    subject = f"Invoice {XSS}"
    message = InboundMessage(
        idempotency_key=f"test:console:{uuid.uuid4().hex}",
        channel=Channel.EMAIL,
        channel_account="support",
        sender=SenderIdentity(
            channel_user_id=customer, email=customer, display_name=f"Mallory {XSS}"
        ),
        thread=ThreadHints(message_id=f"<{uuid.uuid4().hex}@example.com>"),
        subject=subject,
        text="see the HTML part",
        html=(
            f'<p>Hello</p>{XSS}<a href="javascript:window.__xss=3">click</a>'
            '<iframe src="javascript:alert(4)"></iframe><svg onload="alert(5)"></svg>'
            '<form action="https://evil.example"><button>Pay</button></form>'
        ),
        attachments=(AttachmentRef(filename=f'"><script>alert(6)</script>{XSS}.pdf', size=10),),
    )
    await produce_records(running.infra.kafka, INBOUND_MESSAGES.name, [message])
    ticket = await console.ticket_for(customer)
    agent = await console.agent("administrator")
    opened = await console.log_in(agent)
    page = opened.page
    try:
        await page.fill("#q", customer)
        row = page.locator(f"tr[data-ticket-id='{ticket['id']}']")
        await row.wait_for()
        assert XSS in (await row.locator("a.subject").text_content() or "")

        await page.goto(console.url(f"/tickets/{ticket['id']}"))
        thread = page.locator("#thread")
        assert "Hello" in (await thread.text_content() or "")
        assert XSS in (await page.text_content("#summary h1") or "")  # the subject, as text
        assert f"Mallory {XSS}" in (await thread.text_content() or "")  # the sender's name
        assert "<script>alert(6)</script>" in (await thread.text_content() or "")  # the file
        # Nothing executable made it into the page.
        for selector in (
            "#thread script",
            "#thread iframe",
            "#thread form",
            "#thread svg",
            "[onerror]",
            "[onload]",
            "a[href^='javascript']",
            "#thread img",
        ):
            assert await page.locator(selector).count() == 0, selector

        # A caller's card pushed live is text too.
        redis = Redis.from_url(running.infra.redis_url)
        try:
            await redis.publish(
                PUSH_CHANNEL,
                encode_push(
                    "call.ringing",
                    {
                        "from": "+15550100",
                        "contact": {"display_name": f"Caller {XSS}"},
                        "company": {"name": f"ACME {XSS}"},
                        "open_tickets": [{"id": ticket["id"], "number": 1, "subject": XSS}],
                    },
                    agent_ids=[agent.id],
                ),
            )
        finally:
            await redis.aclose()
        popup = page.locator(".call-popup")
        await popup.wait_for()
        assert f"Caller {XSS}" in (await popup.text_content() or "")
        assert await popup.locator("img, script").count() == 0
        await console.shot(page, "ticket-xss")
        await page.wait_for_timeout(300)  # an onerror would have fired by now
        assert await page.evaluate("typeof window.__xss") == "undefined"
        assert opened.dialogs == []
        assert json.dumps(opened.errors) == "[]"

        # The popup's "New ticket": a phone ticket for the caller, the note as its start.
        await popup.locator(".call-new").click()
        await page.wait_for_url("**/console/new-ticket?*")
        assert await page.input_value("input[name=phone]") == "+15550100"
        await page.fill("textarea[name=note]", "Wants a call back about the invoice")
        await page.click("#create-ticket")
        await page.locator("p.notice", has_text="Ticket created").wait_for()
        assert "Call from +15550100" in (await page.text_content("#summary") or "")
        assert "call back about the invoice" in (await page.text_content("#thread") or "")
    finally:
        await opened.close()
