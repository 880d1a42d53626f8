"""Settings part B in a real browser, each page's effect seen on real tickets: routing
rules created, reordered by drag and by the arrows, one disabled, and a new ticket routed
by the rule now first; a calendar and an SLA rule giving a new ticket its planned times;
a trigger tagging a new ticket (and a malformed one refused on the page); a notification
template edited, previewed, a broken one and a layout without its slot refused; a canned
response created and used in the ticket page's picker. Screenshots of every page."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
from devstack.probes import eventually, produce_records
from devstack.stack import Stack
from helpdesk_common.records import Channel, InboundMessage, SenderIdentity, ThreadHints
from helpdesk_common.topics import INBOUND_MESSAGES

from .console_helpers import TIMEOUT, AgentPage, Console, unique


async def _group(console: Console) -> int:
    created = await console.api.post("/api/v1/groups", json={"name": unique("Group ")})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def _rule_ids(console: Console) -> list[int]:
    listed = await console.api.get("/api/v1/routing/rules", params={"limit": 200})
    return [int(r["id"]) for r in listed.json()["items"]]


async def _ticket(console: Console, ticket_id: int) -> dict[str, Any]:
    found = await console.api.get(f"/api/v1/tickets/{ticket_id}")
    found.raise_for_status()
    ticket: dict[str, Any] = found.json()
    return ticket


async def _web_ticket(
    console: Console, gateway: httpx.AsyncClient, email: str, subject: str
) -> dict[str, Any]:
    sent = await gateway.post(
        "/api/v1/webform",
        json={"name": "Carla Customer", "email": email, "subject": subject, "text": "Help!"},
    )
    assert sent.status_code == 202, sent.text
    return await console.ticket_for(email)


async def _submit(opened: AgentPage, selector: str = "#rule-form button.primary") -> None:
    async with opened.page.expect_navigation():
        await opened.page.click(selector)


async def test_routing_rules_ordered_by_drag_and_arrows_route_a_new_ticket(
    console: Console, running: Stack
) -> None:
    first_group, second_group = await _group(console), await _group(console)
    account = unique("acct-")
    opened = await console.log_in(await console.agent("administrator"))
    page = opened.page
    names = [unique("First rule "), unique("Second rule ")]
    try:
        # A rule that names nothing to assign is refused on the page, the input kept.
        await page.goto(console.url("/settings/routing/new"))
        await page.fill("input[name=name]", names[0])
        await page.select_option("select[name=distribution]", "round_robin")
        await _submit(opened)
        assert "distributes inside a group" in (await page.text_content("p.error") or "")
        assert await page.input_value("input[name=name]") == names[0]

        for name, group in zip(names, (first_group, second_group), strict=True):
            await page.goto(console.url("/settings/routing/new"))
            await page.fill("input[name=name]", name)
            await page.select_option("select[name=channels]", ["email"])
            await page.fill("input[name=channel_accounts]", account)
            await page.select_option("select[name=group_id]", str(group))
            await console.shot(page, "settings-routing-edit")
            await _submit(opened)
            await page.wait_for_url(console.url("/settings/routing?done=saved"))
        rows = {
            name: int(
                await page.locator("tr.ordered-row", has_text=name).get_attribute("data-id") or 0
            )
            for name in names
        }
        first, second = rows[names[0]], rows[names[1]]
        ids = await _rule_ids(console)
        assert ids.index(first) < ids.index(second)
        summary = await page.text_content(f"tr.ordered-row[data-id='{first}']") or ""
        assert f"account {account}" in summary and "group" in summary

        # Drag the second rule above the first: the new order is saved and shown.
        await page.locator(f"tr.ordered-row[data-id='{second}'] .grip").drag_to(
            page.locator(f"tr.ordered-row[data-id='{first}']"),
            target_position={"x": 20, "y": 3},
        )
        await eventually(
            lambda: _rule_ids(console),
            lambda ids: ids.index(second) < ids.index(first),
            TIMEOUT,
            "the dragged order",
        )
        await page.wait_for_load_state()
        await console.shot(page, "settings-routing")

        # The arrows work without script: down, then up again.
        await page.click(f"tr.ordered-row[data-id='{second}'] button.down")
        await page.wait_for_url(console.url("/settings/routing?done=reordered"))
        ids = await _rule_ids(console)
        assert ids.index(first) < ids.index(second)
        await page.click(f"tr.ordered-row[data-id='{second}'] button.up")
        await page.wait_for_url(console.url("/settings/routing?done=reordered"))
        ids = await _rule_ids(console)
        assert ids.index(second) < ids.index(first)

        # Disable the rule now second.
        await page.click(f"tr.ordered-row[data-id='{first}'] button.toggle")
        await page.wait_for_url(console.url("/settings/routing?done=disabled"))
        assert "disabled" in (
            await page.locator(f"tr.ordered-row[data-id='{first}']").get_attribute("class") or ""
        )
        rule = await console.api.get(f"/api/v1/routing/rules/{first}")
        assert rule.json()["enabled"] is False
        assert opened.errors == []
    finally:
        await opened.close()

    # A new ticket on that account goes by the rule now first.
    customer = f"{unique('routed-')}@example.org"
    message = InboundMessage(
        idempotency_key=f"test:settings:{uuid.uuid4().hex}",
        channel=Channel.EMAIL,
        channel_account=account,
        sender=SenderIdentity(channel_user_id=customer, email=customer, display_name="Rita"),
        thread=ThreadHints(message_id=f"<{uuid.uuid4().hex}@example.org>"),
        subject=unique("Routed "),
        text="route me",
    )
    await produce_records(running.infra.kafka, INBOUND_MESSAGES.name, [message])
    ticket = await console.ticket_for(customer)
    assert ticket["responsible_group_id"] == second_group
    for rule_id in (first, second):  # leave the table as it was for other tests
        await console.api.delete(f"/api/v1/routing/rules/{rule_id}")


async def test_calendar_and_sla_rule_plan_a_new_ticket(
    console: Console, gateway: httpx.AsyncClient
) -> None:
    domain = f"{unique('client')}.test"
    company = await console.api.post(
        "/api/v1/companies", json={"name": unique("Client "), "domains": [domain]}
    )
    assert company.status_code == 201, company.text
    opened = await console.log_in(await console.agent("administrator"))
    page = opened.page
    calendar_name, rule_name = unique("Always "), unique("SLA rule ")
    try:
        await page.goto(console.url("/settings/calendars/new"))
        await page.fill("input[name=name]", calendar_name)
        await page.fill("input[name=timezone]", "Mars/Olympus")
        await _submit(opened, "#calendar-form button.primary")
        assert "Mars/Olympus" in (await page.text_content("p.error") or "")
        await page.fill("input[name=timezone]", "Europe/Berlin")
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"):
            await page.fill(f"input[name=hours_{day}]", "00:00-24:00")
        await page.fill(
            "textarea[name=exception_days]", "2030-12-31 shortened 00:00-14:00\n2031-01-01 holiday"
        )
        await console.shot(page, "settings-calendar-edit")
        await _submit(opened, "#calendar-form button.primary")
        await page.wait_for_url(console.url("/settings/calendars?done=saved"))
        assert calendar_name in (await page.text_content("table.calendars") or "")
        await console.shot(page, "settings-calendars")

        await page.goto(console.url("/settings/sla/new"))
        await page.fill("input[name=name]", rule_name)
        await page.select_option("select[name=company_ids]", label=company.json()["name"])
        await page.select_option("select[name=calendar_id]", label=calendar_name)
        await page.fill("input[name=reaction_minutes]", "60")
        await page.fill("input[name=resolution_minutes]", "480")
        await page.fill("input[name=warning_minutes]", "600")
        await _submit(opened)
        assert "warning_minutes must be shorter" in (await page.text_content("p.error") or "")
        await page.fill("input[name=warning_minutes]", "10")
        await console.shot(page, "settings-sla-edit")
        await _submit(opened)
        await page.wait_for_url(console.url("/settings/sla?done=saved"))
        row = page.locator("tr.ordered-row", has_text=rule_name)
        assert "reaction 1h, resolution 8h" in (await row.text_content() or "")
        rule_id = int(await row.get_attribute("data-id") or 0)
        while (await page.locator("tr.ordered-row").first.get_attribute("data-id")) != str(rule_id):
            await page.click(f"tr.ordered-row[data-id='{rule_id}'] button.up")
            await page.wait_for_url(console.url("/settings/sla?done=reordered"))
        await console.shot(page, "settings-sla")

        ticket = await _web_ticket(console, gateway, f"ann@{domain}", unique("Planned "))
        planned = await _ticket(console, ticket["id"])
        assert planned["sla_rule_id"] == rule_id
        created = datetime.fromisoformat(planned["created_at"])
        reaction = datetime.fromisoformat(planned["reaction_due_at"])
        resolution = datetime.fromisoformat(planned["resolution_due_at"])
        assert 59 * 60 <= (reaction - created).total_seconds() <= 61 * 60
        assert 479 * 60 <= (resolution - created).total_seconds() <= 481 * 60
        await page.goto(console.url(f"/tickets/{ticket['id']}"))
        assert "reaction in" in (await page.text_content(".sla") or "")

        # A calendar in use cannot be deleted; once its rule is gone, it can.
        await page.goto(console.url("/settings/calendars"))
        await page.click(f"a:text('{calendar_name}')")
        calendar_url = page.url
        await page.click("button:text('Delete calendar')")
        assert "is still in use" in (await page.text_content("main") or "")
        await page.goto(console.url(f"/settings/sla/{rule_id}"))
        await page.click("button:text('Delete SLA rule')")
        await page.wait_for_url(console.url("/settings/sla?done=deleted"))
        assert rule_name not in (await page.text_content("table.ordered") or "")
        await page.goto(calendar_url)
        await page.click("button:text('Delete calendar')")
        await page.wait_for_url(console.url("/settings/calendars?done=deleted"))
        assert calendar_name not in (await page.text_content("table.calendars") or "")
        assert opened.errors == []
    finally:
        await opened.close()


async def test_trigger_made_on_the_page_tags_a_new_ticket(
    console: Console, gateway: httpx.AsyncClient
) -> None:
    token, tag = unique("trig"), unique("tag-")
    opened = await console.log_in(await console.agent("administrator"))
    page = opened.page
    try:
        await page.goto(console.url("/settings/triggers/new"))
        await page.fill("input[name=name]", unique("Tagger "))
        await page.select_option("select[name=event]", "ticket.created")
        await page.fill(
            "textarea[name=conditions]", '{"field": "ticket.nope", "op": "eq", "value": 1}'
        )
        await page.fill("input[name=quick_tag]", tag)
        await _submit(opened, "#trigger-form button.primary")
        error = await page.text_content("p.error") or ""
        assert "ticket.nope" in error
        await page.fill("textarea[name=conditions]", "{not json")
        await _submit(opened, "#trigger-form button.primary")
        assert "not valid JSON" in (await page.text_content("p.error") or "")
        await page.fill(
            "textarea[name=conditions]",
            f'{{"all": [{{"field": "ticket.subject", "op": "contains", "value": "{token}"}}]}}',
        )
        await console.shot(page, "settings-trigger-edit")
        await _submit(opened, "#trigger-form button.primary")
        await page.wait_for_url(console.url("/settings/triggers?done=saved"))
        row = page.locator("tr.ordered-row", has_text=tag)
        assert "ticket.created" in (await row.text_content() or "")
        await console.shot(page, "settings-triggers")
        assert opened.errors == []
    finally:
        await opened.close()

    ticket = await _web_ticket(
        console, gateway, f"{unique('tagged-')}@example.org", f"Printer {token}"
    )
    tagged = await eventually(
        lambda: _ticket(console, ticket["id"]), lambda t: tag in t["tags"], TIMEOUT, "the tag"
    )
    assert tag in tagged["tags"]


async def test_notification_template_edit_preview_and_refusals(console: Console) -> None:
    key = "contact.ticket_resolved"
    original = (await console.api.get(f"/api/v1/notifications/types/{key}")).json()
    opened = await console.log_in(await console.agent("administrator"))
    page = opened.page
    marker = unique("Solved ")
    try:
        await page.goto(console.url("/settings/notifications"))
        await console.shot(page, "settings-notifications")
        await page.click(f"a[href='/console/settings/notifications/types/{key}']")
        await page.fill("input[name=subject]", marker + " #{{ ticket.number }}")
        await page.fill("textarea[name=body]", "Dear {{ recipient.name }}, done.")
        await _submit(opened, "#template-form button[value=preview]")
        assert await page.text_content(".preview-subject") == f"{marker} #1042"
        assert "Dear Carla Customer, done." in (await page.text_content(".preview-html") or "")
        await console.shot(page, "settings-notification-edit")
        await _submit(opened, "#template-form button[value=save]")
        await page.wait_for_url(console.url("/settings/notifications?done=saved"))
        stored = await console.api.get(f"/api/v1/notifications/types/{key}")
        assert stored.json()["subject"] == marker + " #{{ ticket.number }}"

        # A template that cannot render is refused with the renderer's message.
        await page.goto(console.url(f"/settings/notifications/types/{key}"))
        await page.fill("textarea[name=body]", "{{ ticket.number | nosuchfilter }}")
        await _submit(opened, "#template-form button[value=save]")
        assert "nosuchfilter" in (await page.text_content("p.error") or "")
        stored = await console.api.get(f"/api/v1/notifications/types/{key}")
        assert stored.json()["body"] == "Dear {{ recipient.name }}, done."

        # A layout without the {{ content }} slot is refused; the stored one stays.
        before = (await console.api.get("/api/v1/notifications/settings")).json()["layout"]
        await page.goto(console.url("/settings/notifications"))
        await page.fill("textarea[name=layout]", "<p>{{ subject }}</p>")
        await _submit(opened, "#layout-form button.primary")
        assert "{{ content }}" in (await page.text_content("p.error") or "")
        after = (await console.api.get("/api/v1/notifications/settings")).json()["layout"]
        assert after == before
        assert opened.errors == []
    finally:
        await opened.close()
        # The template as it was: the notification tests that run later read its subject.
        kept = {k: original[k] for k in ("subject", "body", "sms", "enabled", "email_on")}
        restored = await console.api.patch(f"/api/v1/notifications/types/{key}", json=kept)
        assert restored.status_code == 200, restored.text


async def test_canned_response_made_on_the_page_is_in_the_ticket_picker(
    console: Console, gateway: httpx.AsyncClient
) -> None:
    title = unique("Greeting ")
    ticket = await _web_ticket(
        console, gateway, f"{unique('canned-')}@example.org", unique("Canned ")
    )
    opened = await console.log_in(await console.agent("administrator"))
    page = opened.page
    try:
        await page.goto(console.url("/settings/canned/new"))
        assert "contact.name" in (await page.text_content(".placeholders") or "")
        await page.fill("input[name=title]", title)
        await page.fill("textarea[name=text]", "Hello {{ contact.nickname }}")
        await _submit(opened, "#canned-form button[value=save]")
        assert "unknown placeholder contact.nickname" in (await page.text_content("p.error") or "")
        await page.fill(
            "textarea[name=text]", "Hello {{ contact.name }}, ticket {{ ticket.number }}."
        )
        await _submit(opened, "#canned-form button[value=preview]")
        assert await page.text_content(".preview-body") == "Hello Carla Customer, ticket 1042."
        await console.shot(page, "settings-canned-edit")
        await _submit(opened, "#canned-form button[value=save]")
        await page.wait_for_url(console.url("/settings/canned?done=saved"))
        await console.shot(page, "settings-canned")

        await page.goto(console.url(f"/tickets/{ticket['id']}"))
        picked = page.locator("select[name=canned_id] option", has_text=title)
        await page.select_option("select[name=canned_id]", await picked.get_attribute("value"))
        await page.locator(
            "textarea[name=text]", has_text=f"Hello Carla Customer, ticket {ticket['number']}."
        ).wait_for()
        assert opened.errors == []
    finally:
        await opened.close()
