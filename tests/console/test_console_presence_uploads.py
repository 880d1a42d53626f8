"""The ticket page: two agents on the same ticket see each other ("Being processed by X
since 10:42", live through the presence push, gone when one leaves); a reply with a file
reaches the SMTP sink with the file; an oversized or forbidden file is refused on the
page with the draft kept and nothing sent."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from devstack.probes import eventually
from playwright.async_api import Page, Request, Response

from .console_helpers import TIMEOUT, Console, unique
from .page_client import logged_in_client


async def _web_ticket(console: Console, gateway: httpx.AsyncClient, prefix: str) -> dict[str, Any]:
    email = f"{unique(prefix)}@example.com"
    sent = await gateway.post(
        "/api/v1/webform",
        json={"name": "Carla", "email": email, "subject": unique("Files "), "text": "Hi"},
    )
    assert sent.status_code == 202, sent.text
    return {**await console.ticket_for(email), "email": email}


POLL_SECONDS = 15  # the presence block's "every 15s" (each swap starts it again)


class PresenceRefreshes:
    """The presence refreshes (POSTs) of a page: when each was sent and what it showed.
    A refresh sent well within the poll interval after the previous one was not the poll:
    the push triggered it (a busy machine makes timers late, never early)."""

    def __init__(self, page: Page) -> None:
        self.sent: dict[Request, float] = {}
        self.answers: list[Response] = []
        page.on("request", self._request)
        page.on("response", self._response)

    @staticmethod
    def _presence(request: Request) -> bool:
        return request.method == "POST" and request.url.endswith("/presence")

    def _request(self, request: Request) -> None:
        if self._presence(request):
            self.sent[request] = time.monotonic()

    def _response(self, response: Response) -> None:
        if self._presence(response.request):
            self.answers.append(response)

    async def pushed_showing(self, marker: str) -> bool:
        """Whether a refresh that was not the poll showed ``marker``."""
        times = sorted(self.sent.values())
        for answer in list(self.answers):
            at = self.sent.get(answer.request)
            earlier = [t for t in times if at is not None and t < at]
            if at is None or not earlier or at - earlier[-1] > POLL_SECONDS - 1:
                continue
            if marker in await answer.text():
                return True
        return False


async def test_two_agents_on_one_ticket_see_each_other(
    console: Console, gateway: httpx.AsyncClient
) -> None:
    ticket = await _web_ticket(console, gateway, "presence-")
    ann, bob = await console.agent("administrator"), await console.agent("administrator")
    first, second = await console.log_in(ann), await console.log_in(bob)
    url = console.url(f"/tickets/{ticket['id']}")
    try:
        refreshes = PresenceRefreshes(first.page)
        await first.page.goto(url)
        await first.page.wait_for_selector("#presence[hx-trigger^=every]", state="attached")
        await first.page.evaluate("window.__sameDocument = true")
        await second.page.goto(url)
        # Bob's page shows Ann at once (she sent her heartbeat when her page loaded) ...
        ann_there = second.page.locator(f".presence-viewer[data-agent-id='{ann.id}']")
        await ann_there.wait_for()
        text = await ann_there.text_content() or ""
        assert f"Being processed by {ann.name} since " in text
        # ... and Ann's page learns of Bob through the push, without a reload.
        bob_there = first.page.locator(f".presence-viewer[data-agent-id='{bob.id}']")
        await bob_there.wait_for()
        marker = f'data-agent-id="{bob.id}"'
        await eventually(
            lambda: refreshes.pushed_showing(marker), bool, TIMEOUT, "a push-made refresh"
        )
        assert await first.page.evaluate("window.__sameDocument === true")
        # nobody sees themselves
        assert await first.page.locator(f"[data-agent-id='{ann.id}'].presence-viewer").count() == 0
        await console.shot(first.page, "ticket-presence")

        # Bob leaves (the page's beacon): Ann's next heartbeat no longer lists him.
        await second.page.goto(console.url("/"))

        async def bob_listed() -> int:
            await first.page.evaluate(
                "document.body.dispatchEvent(new CustomEvent('console-presence'))"
            )
            await first.page.wait_for_timeout(300)
            return await bob_there.count()

        await eventually(bob_listed, lambda n: n == 0, TIMEOUT, "Bob gone from Ann's page")
        assert first.errors == [] and second.errors == []
    finally:
        await first.close()
        await second.close()


async def test_reply_with_a_file_reaches_the_customer_and_bad_files_keep_the_draft(
    console: Console, gateway: httpx.AsyncClient, mail_sink: Any, tmp_path: Path
) -> None:
    ticket = await _web_ticket(console, gateway, "upload-")
    agent = await console.agent("administrator")
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(b"%PDF-1.4 the invoice")
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (1024 * 1024 + 1))  # the test system's limit is 1 MiB
    program = tmp_path / "setup.exe"
    program.write_bytes(b"MZ\x90\x00 not really")
    opened = await console.log_in(agent)
    page = opened.page
    try:
        await page.goto(console.url(f"/tickets/{ticket['id']}"))
        for refused, status_text in ((big, "larger than"), (program, "cannot be attached")):
            draft = unique("Draft kept ")
            await page.fill("textarea[name=text]", draft)
            await page.set_input_files("#reply-files", str(refused))
            async with page.expect_response(
                lambda r: r.url.endswith("/reply") and r.request.method == "POST"
            ) as answer:
                await page.click("#send")
            assert (await answer.value).status in (413, 415)
            await page.wait_for_selector("p.error")
            assert status_text in (await page.text_content("p.error") or "")
            assert await page.input_value("textarea[name=text]") == draft
        await console.shot(page, "reply-file-refused")
        assert [m for m in await console.messages_of(ticket["id"]) if m["kind"] != "customer"] == []

        await page.fill("textarea[name=text]", "Here is your invoice.")
        await page.set_input_files("#reply-files", str(invoice))
        await page.click("#send")
        await page.wait_for_selector("p.notice")

        async def mails() -> list[Any]:
            return [m for m in mail_sink.received if m["To"] == ticket["email"]]

        received = await eventually(mails, lambda m: len(m) == 1, TIMEOUT, "mail with the file")
        files = [(a.get_filename(), a.get_content()) for a in received[0].iter_attachments()]
        assert files == [("invoice.pdf", b"%PDF-1.4 the invoice")]
        assert "your invoice" in received[0].get_body(("plain",)).get_content()
        # the thread shows the file as a download link
        link = page.locator("#thread a[download]", has_text="invoice.pdf")
        await link.wait_for()
        assert opened.errors == []
    finally:
        await opened.close()


async def test_presence_and_uploads_respect_ticket_visibility(
    console: Console, gateway: httpx.AsyncClient
) -> None:
    ticket = await _web_ticket(console, gateway, "hidden-")
    specialist = await console.agent("specialist")
    async with logged_in_client(console, specialist.login) as (client, csrf):
        heartbeat = await client.post(
            f"/console/tickets/{ticket['id']}/presence", headers={"X-CSRF-Token": csrf}
        )
        assert heartbeat.status_code == 404
        upload = await client.post(
            f"/console/tickets/{ticket['id']}/reply",
            data={"text": "sneaky", "csrf_token": csrf},
            files={"files": ("a.txt", b"x", "text/plain")},
        )
        assert upload.status_code == 404
        # without the CSRF token a heartbeat is refused
        assert (await client.post(f"/console/tickets/{ticket['id']}/presence")).status_code == 403
    assert [m for m in await console.messages_of(ticket["id"]) if m["kind"] != "customer"] == []
