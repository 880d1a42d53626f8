"""The portal's defences: its session cookie and the agents' are not interchangeable
(neither opens the other's pages), every form needs the portal session's CSRF token,
logins lock out after repeated failures (shared with the portal API), bad input is a
4xx page with the reason, security headers on every page, a password change ends the
other sessions."""

from __future__ import annotations

import httpx

from ..console.console_helpers import unique
from .portal_helpers import PASSWORD, Portal

PORTAL_COOKIE = "helpdesk_portal_session"
AGENT_COOKIE = "helpdesk_session"


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" value="')[1].split('"')[0]


async def test_agent_and_portal_cookies_do_not_open_each_others_pages(portal: Portal) -> None:
    agent = await portal.console.agent("administrator")
    agent_page = await portal.console.log_in(agent)
    ann = await portal.customer()
    customer_page = await portal.log_in(ann)
    try:
        await agent_page.page.goto(portal.url("/"))
        assert agent_page.page.url.startswith(portal.url("/login"))
        await customer_page.page.goto(portal.console.url("/"))
        assert customer_page.page.url.startswith(portal.console.url("/login"))
        await portal.console.shot(customer_page.page, "portal-cookie-refused-by-console")
        agent_token = await portal.cookie_of(agent_page.page, AGENT_COOKIE)
        contact_token = await portal.cookie_of(customer_page.page, PORTAL_COOKIE)
    finally:
        await agent_page.close()
        await customer_page.close()
    assert agent_token != contact_token
    async with portal.client() as client:
        for name, token, path in (
            (AGENT_COOKIE, agent_token, "/portal/"),  # the agents' cookie, as it is
            (PORTAL_COOKIE, agent_token, "/portal/"),  # an agent token in the portal cookie
            (AGENT_COOKIE, contact_token, "/console/"),  # a portal token in the agents' one
        ):
            client.cookies.clear()
            client.cookies.set(name, token)
            refused = await client.get(path)
            assert refused.status_code == 303, (name, path, refused.text)
            assert refused.headers["location"].startswith(f"{path}login")
        client.cookies.clear()
        client.cookies.set(PORTAL_COOKIE, contact_token)
        assert (await client.get("/portal/")).status_code == 200


async def test_forms_need_the_csrf_token_and_bad_input_is_a_4xx(portal: Portal) -> None:
    ann = await portal.customer()
    ticket = await portal.ticket(ann, unique("Csrf "))
    before = len((await portal.detail(ticket))["messages"])
    async with portal.client() as client:
        anonymous = await client.get(f"/portal/tickets/{ticket}")
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == f"/portal/login?next=%2Fportal%2Ftickets%2F{ticket}"
        # the login form: the token must match its cookie; no open redirect afterwards
        login_page = await client.get("/portal/login")
        csp = login_page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert login_page.headers["x-frame-options"] == "DENY"
        assert "<script>" not in login_page.text
        forged = await client.post(
            "/portal/login", data={"login": ann.email, "password": PASSWORD, "csrf_token": "x"}
        )
        assert forged.status_code == 403 and PORTAL_COOKIE not in forged.cookies
        token = _csrf(login_page.text)
        client.cookies.set("helpdesk_portal_login", token)
        done = await client.post(
            "/portal/login",
            data={
                "login": ann.email,
                "password": PASSWORD,
                "csrf_token": token,
                "next": "//evil.example/",
            },
        )
        assert done.status_code == 303 and done.headers["location"] == "/portal/"
        session = done.cookies[PORTAL_COOKIE]

        client.cookies.set(PORTAL_COOKIE, session)
        page = await client.get(f"/portal/tickets/{ticket}")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        csrf = _csrf(page.text)
        for data in ({"text": "forged"}, {"text": "forged", "csrf_token": "0" * 64}):
            refused = await client.post(f"/portal/tickets/{ticket}/reply", data=data)
            assert refused.status_code == 403 and "stale" in refused.text
        for action in ("confirm", "reopen", "rating"):
            refused = await client.post(f"/portal/tickets/{ticket}/{action}", data={})
            assert refused.status_code == 403
        refused = await client.post("/portal/new", data={"subject": "x", "text": "y"})
        assert refused.status_code == 403
        refused = await client.post("/portal/logout")
        assert refused.status_code == 403
        assert len((await portal.detail(ticket))["messages"]) == before

        # bad input: the page again with the reason, nothing stored
        empty = await client.post(
            f"/portal/tickets/{ticket}/reply", data={"text": "  ", "csrf_token": csrf}
        )
        assert empty.status_code == 422 and "the message is empty" in empty.text
        files = [("files", (f"f{i}.txt", b"x", "text/plain")) for i in range(6)]
        many = await client.post(
            f"/portal/tickets/{ticket}/reply",
            data={"text": "six files", "csrf_token": csrf},
            files=files,
        )
        assert many.status_code == 422 and "at most 5 files" in many.text
        big = await client.post(
            f"/portal/tickets/{ticket}/reply",
            data={"text": "big file", "csrf_token": csrf},
            files=[("files", ("big.bin", b"x" * (1024 * 1024 + 1), "application/octet-stream"))],
        )
        assert big.status_code == 413 and "big.bin is larger" in big.text
        assert "big file" in big.text  # the draft is kept
        for path in ("/portal/?status=bogus", "/portal/?offset=-1", "/portal/?scope=company"):
            bad = await client.get(path)
            assert bad.status_code == 422, path
        unknown_type = await client.post(
            "/portal/new",
            data={"subject": "s", "text": "t", "type_id": "999999", "csrf_token": csrf},
        )
        assert unknown_type.status_code == 422 and "cannot be chosen" in unknown_type.text
        no_subject = await client.post(
            "/portal/new", data={"subject": "", "text": "t", "csrf_token": csrf}
        )
        assert no_subject.status_code == 422 and "the subject is empty" in no_subject.text
        assert len((await portal.detail(ticket))["messages"]) == before

        # with the token (hidden field or HTMX header) the reply is stored, once per page
        key = "ab" * 16
        for _ in range(2):
            sent = await client.post(
                f"/portal/tickets/{ticket}/reply",
                data={"text": "real reply", "idempotency": key},
                headers={"X-CSRF-Token": csrf},
            )
            assert sent.status_code == 303, sent.text
            assert sent.headers["location"] == f"/portal/tickets/{ticket}?done=sent"
        texts = [m["text"] for m in (await portal.detail(ticket))["messages"]]
        assert texts.count("real reply") == 1

        logout = await client.post("/portal/logout", data={"csrf_token": csrf})
        assert logout.status_code == 303
        assert (await client.get("/portal/")).status_code == 303  # the session ended


async def test_login_locks_out_after_repeated_failures(portal: Portal) -> None:
    eve = await portal.customer()
    opened = await portal.open_page()
    page = opened.page
    try:
        await page.goto(portal.url("/login"))
        for _ in range(5):
            await page.fill("input[name=login]", eve.email)
            await page.fill("input[name=password]", "wrong-password")
            await page.click("button[type=submit]")
            await page.wait_for_selector(".error")
        assert "Wrong login or password" in await page.inner_text(".error")
        # now even the right password is refused, and by the API too (one lockout)
        await page.fill("input[name=login]", eve.email)
        await page.fill("input[name=password]", PASSWORD)
        async with page.expect_response(portal.url("/login")) as answer:
            await page.click("button[type=submit]")
        assert (await answer.value).status == 429
        assert "Too many failed logins" in await page.inner_text(".error")
        assert page.url.startswith(portal.url("/login"))
        await portal.console.shot(page, "portal-lockout")
    finally:
        await opened.close()
    api = await portal.api.post(
        "/api/v1/portal/auth/login", json={"login": eve.email, "password": PASSWORD}
    )
    assert api.status_code == 429


async def test_password_change_ends_other_sessions(portal: Portal) -> None:
    ann = await portal.customer()
    new_password = "another-Passw0rd"
    async with (
        portal.client() as client,
        httpx.AsyncClient(base_url=portal.console.base, timeout=15) as other,
    ):
        login = await other.post(
            "/api/v1/portal/auth/login", json={"login": ann.email, "password": PASSWORD}
        )
        other_token = login.json()["token"]
        client.cookies.set(PORTAL_COOKIE, ann.token)
        csrf = _csrf((await client.get("/portal/password")).text)
        for current, new, repeat, reason in (
            ("wrong-password", new_password, new_password, "current password is wrong"),
            (PASSWORD, new_password, "different-Passw0rd", "new passwords differ"),
            (PASSWORD, "short", "short", "at least 8 characters"),
        ):
            refused = await client.post(
                "/portal/password",
                data={"current": current, "new": new, "repeat": repeat, "csrf_token": csrf},
            )
            assert refused.status_code == 422 and reason in refused.text
        changed = await client.post(
            "/portal/password",
            data={
                "current": PASSWORD,
                "new": new_password,
                "repeat": new_password,
                "csrf_token": csrf,
            },
        )
        assert changed.status_code == 303, changed.text
        fresh = changed.cookies[PORTAL_COOKIE]
        # this browser goes on with its fresh session; the other session has ended
        for token, status in ((fresh, 200), (other_token, 303), (ann.token, 303)):
            client.cookies.set(PORTAL_COOKIE, token)
            assert (await client.get("/portal/")).status_code == status
    old = await portal.api.post(
        "/api/v1/portal/auth/login", json={"login": ann.email, "password": PASSWORD}
    )
    assert old.status_code == 401
    new = await portal.api.post(
        "/api/v1/portal/auth/login", json={"login": ann.email, "password": new_password}
    )
    assert new.status_code == 200
