"""The dashboard page in a real browser (counts that follow a new ticket, the chart's bar
for today, CSV and XLSX downloads through the console), and who may see what: a
specialist gets their own figures and reports, bad input is a 422 page."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
from openpyxl import load_workbook
from playwright.async_api import Page

from .console_helpers import Console, unique
from .page_client import logged_in_client


async def _count(page: Page, key: str) -> int:
    value = await page.get_attribute(f"#count-{key} .tile-value", "data-value")
    return int(value or "-1")


def _bytes(path: Path) -> bytes:
    return path.read_bytes()


def _tile(html: str, key: str) -> int:
    found = re.search(rf'id="count-{key}".*?data-value="(\d+)"', html, re.DOTALL)
    assert found, key
    return int(found.group(1))


async def _desk_figures(api: httpx.AsyncClient) -> tuple[int, int]:
    """(open tickets, tickets created today) from the REST dashboard."""
    answer = await api.get("/api/v1/dashboard", params={"days": 14})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return int(body["counts"]["open"]), int(body["created_vs_resolved"][-1]["created"])


async def _page_figures(page: Page, api: httpx.AsyncClient) -> tuple[int, int]:
    """The open tile and today's "created" bar, read while the desk held still. The whole
    session shares one desk: other tests' tickets still being ingested and their timers
    (Pending -> Open) move the figures at any time, so the page is compared with the REST
    figures read just before and after it, and read again if those moved meanwhile."""
    for _ in range(10):
        before = await _desk_figures(api)
        await page.reload()
        today = page.locator("rect.bar-created.today")
        shown = (await _count(page, "open"), int(await today.get_attribute("data-value") or "-1"))
        if await _desk_figures(api) == before:
            assert shown == before
            return shown
    raise AssertionError("the desk's figures never held still for one page load")


async def test_dashboard_counts_chart_and_report_downloads(
    console: Console, gateway: httpx.AsyncClient
) -> None:
    admin = await console.agent("administrator")
    opened = await console.log_in(admin)
    page = opened.page
    try:
        await page.goto(console.url("/dashboard"))
        today_created = page.locator("rect.bar-created.today")
        _, created_before = await _page_figures(page, console.api)
        assert created_before >= 0

        email = f"{unique('dash-')}@example.com"
        subject = unique("Dashboard ")
        sent = await gateway.post(
            "/api/v1/webform", json={"email": email, "subject": subject, "text": "Count me"}
        )
        assert sent.status_code == 202, sent.text
        ticket = await console.ticket_for(email)

        # the page shows the desk's figures, which now count the new (open) ticket
        open_now, created_now = await _page_figures(page, console.api)
        assert open_now >= 1 and created_now >= created_before + 1
        assert float(await today_created.get_attribute("height") or "0") > 0
        # the same figure in the table fallback
        today = await today_created.get_attribute("data-day")
        row = page.locator(f"#chart-table tr[data-day='{today}'] td").first
        assert int(await row.text_content() or "0") == created_now
        assert await page.get_attribute("svg.chart-svg", "role") == "img"
        # every tile opens the inbox with its filter
        assert await page.get_attribute("#count-overdue", "href") == "/console/?overdue=1"
        assert await page.get_attribute("#count-unassigned", "href") == "/console/?unassigned=1"
        await console.shot(page, "dashboard")

        # CSV through the console: the new ticket is in it, its formula-like subject safe
        async with page.expect_download() as csv_info:
            await page.click("#export-csv")
        csv_download = await csv_info.value
        assert csv_download.suggested_filename.endswith(".csv")
        text = _bytes(await csv_download.path()).decode("utf-8-sig")
        line = next(x for x in text.splitlines() if str(ticket["number"]) in x)
        assert subject in line and email in line

        # XLSX: a workbook openpyxl reads, with the ticket's row
        async with page.expect_download() as xlsx_info:
            await page.click("#export-xlsx")
        xlsx_download = await xlsx_info.value
        book = load_workbook(io.BytesIO(_bytes(await xlsx_download.path())))
        rows = list(book.active.iter_rows(values_only=True))
        assert rows[0][0] == "ID"
        assert any(r[0] == ticket["id"] and r[2] == subject for r in rows[1:])

        await page.click("#count-open")
        await page.wait_for_url(console.url("/?status=open"))
        assert opened.errors == []
    finally:
        await opened.close()


async def test_a_specialist_sees_only_their_figures_and_reports(
    console: Console, gateway: httpx.AsyncClient
) -> None:
    email = f"{unique('foreign-')}@example.com"
    subject = unique("Not yours ")
    sent = await gateway.post(
        "/api/v1/webform", json={"email": email, "subject": subject, "text": "x"}
    )
    assert sent.status_code == 202
    await console.ticket_for(email)
    specialist = await console.agent("specialist")
    lead = await console.agent("lead_specialist")
    async with logged_in_client(console, specialist.login) as (client, _):
        page = await client.get("/console/dashboard")
        assert page.status_code == 200
        assert "Your tickets only" in page.text
        assert _tile(page.text, "open") == 0 and _tile(page.text, "unassigned") == 0
        report = await client.get("/console/reports/tickets.csv")
        assert report.status_code == 200
        assert report.headers["content-disposition"].startswith("attachment")
        assert subject not in report.text and report.text.count("\r\n") == 1  # header only
        # bad input is a 422 page, never a 500
        for path in (
            "/console/dashboard?days=0",
            "/console/dashboard?from=2026-13-01",
            "/console/reports/tickets.csv?from=2026-11-02&to=2026-11-01",
            "/console/reports/tickets.xlsx?status=lost",
        ):
            assert (await client.get(path)).status_code == 422, path
    async with logged_in_client(console, lead.login) as (client, _):
        page = await client.get("/console/dashboard")
        assert page.status_code == 200 and "All tickets" in page.text
        assert _tile(page.text, "open") >= 1 and _tile(page.text, "unassigned") >= 1
        report = await client.get("/console/reports/tickets.csv")
        assert subject in report.text
    async with httpx.AsyncClient(base_url=console.base, follow_redirects=False) as anonymous:
        for path in ("/console/dashboard", "/console/reports/tickets.csv"):
            refused = await anonymous.get(path)
            assert refused.status_code == 303 and "/console/login" in refused.headers["location"]
