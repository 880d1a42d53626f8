"""The ticket page's "Linked tickets" panel: an agent links two tickets (both pages show
it), removes the link, and merges a duplicate (resolved, with the link); refused forms
come back as 4xx pages with the reason. A specialist reads a ticket one link away from
their own, but may not reply to or change it."""

from __future__ import annotations

import json
from typing import Any

import httpx

from .console_helpers import Console, unique
from .page_client import logged_in_client


async def _ticket(console: Console, subject: str, **extra: Any) -> dict[str, Any]:
    made = await console.api.post(
        "/api/v1/tickets",
        json={"email": f"{unique('links-')}@example.test", "subject": subject, **extra},
    )
    assert made.status_code == 201, made.text
    ticket: dict[str, Any] = made.json()
    return ticket


async def _links(console: Console, ticket_id: int) -> list[tuple[str, int, bool]]:
    listed = await console.api.get(f"/api/v1/tickets/{ticket_id}/links")
    assert listed.status_code == 200, listed.text
    return [(i["kind"], i["linked_ticket_id"], i["manual"]) for i in listed.json()["items"]]


async def test_an_agent_links_unlinks_and_merges_tickets(console: Console) -> None:
    agent = await console.agent("lead_specialist")
    first = await _ticket(console, unique("Printer jams "))
    second = await _ticket(console, unique("Printer again "))
    opened = await console.log_in(agent)
    page = opened.page
    try:
        await page.goto(console.url(f"/tickets/{first['id']}"))
        await page.locator("#links", has_text="No linked tickets").wait_for()
        await page.select_option("#link-kind", "related")
        await page.fill("#link-other", f"#{second['number']}")
        await page.click("#link-add")
        row = page.locator("#links .link-row", has_text=f"#{second['number']}")
        await row.wait_for()
        assert "Related to" in (await row.text_content() or "")
        assert second["subject"] in (await row.text_content() or "")

        await page.click(f"#links a:has-text('#{second['number']}')")
        await page.wait_for_url(console.url(f"/tickets/{second['id']}"))
        back = page.locator("#links .link-row", has_text=f"#{first['number']}")
        await back.wait_for()
        await console.shot(page, "ticket-links-related")
        await back.locator("button.link-remove").click()
        await page.locator("#links", has_text="No linked tickets").wait_for()
        assert await _links(console, first["id"]) == []

        # "Merge into…": the first ticket duplicates the second and is resolved.
        await page.goto(console.url(f"/tickets/{first['id']}"))
        await page.fill("#merge-target", str(second["number"]))
        await page.click("#merge-into")
        await page.locator("#links .link-row", has_text="Duplicate of").wait_for()
        status = await page.text_content("#ticket-status") or ""
        assert "resolved" in status.lower()
        await console.shot(page, "ticket-links-merged")
        assert json.dumps(opened.errors) == "[]"
    finally:
        await opened.close()
    assert await _links(console, first["id"]) == [("duplicate_of", second["id"], True)]
    assert await _links(console, second["id"]) == [("duplicated_by", first["id"], True)]
    detail = (await console.api.get(f"/api/v1/tickets/{first['id']}")).json()
    assert detail["status"] == "resolved"


async def test_refused_link_forms_answer_4xx_with_the_reason(console: Console) -> None:
    agent = await console.agent("administrator")
    child = await _ticket(console, unique("Child "))
    parent = await _ticket(console, unique("Parent "))
    async with logged_in_client(console, agent.login) as (client, csrf):

        async def link(ticket: dict[str, Any], kind: str, other: str) -> httpx.Response:
            return await client.post(
                f"/console/tickets/{ticket['id']}/links",
                data={"csrf_token": csrf, "kind": kind, "other": other},
            )

        made = await link(child, "parent", str(parent["number"]))
        assert made.status_code == 303, made.text
        cases = [
            (child, "related", str(child["number"]), 422, "itself"),
            (parent, "parent", str(child["number"]), 409, "cycle"),
            (child, "related", "999999999", 404, "no ticket has number"),
            (child, "related", "not a number", 404, "is not a ticket number"),
            (child, "follow_up_of", str(parent["number"]), 422, "Choose how"),
        ]
        for ticket, kind, other, status, reason in cases:
            refused = await link(ticket, kind, other)
            assert refused.status_code == status, (kind, other, refused.text)
            assert reason in refused.text and 'id="link-form"' in refused.text
        stale = await client.post(
            f"/console/tickets/{child['id']}/links",
            data={"csrf_token": "0" * 64, "kind": "related", "other": str(parent["number"])},
        )
        assert stale.status_code == 403
        merge_self = await client.post(
            f"/console/tickets/{child['id']}/merge",
            data={"csrf_token": csrf, "target": str(child["number"])},
        )
        assert merge_self.status_code == 422 and "itself" in merge_self.text
        gone = await client.post(
            f"/console/tickets/{child['id']}/links/remove",
            data={"csrf_token": csrf, "kind": "related", "other_id": str(parent["id"])},
        )
        assert gone.status_code == 404 and "gone already" in gone.text
    assert await _links(console, child["id"]) == [("parent", parent["id"], True)]
    detail = (await console.api.get(f"/api/v1/tickets/{child['id']}")).json()
    assert detail["status"] == "open"


async def test_a_specialist_reads_a_linked_ticket_but_may_not_change_it(
    console: Console,
) -> None:
    specialist = await console.agent("specialist")
    mine = await _ticket(console, unique("Mine "), responsible_agent_id=specialist.id)
    linked = await _ticket(console, unique("Linked "))
    unrelated = await _ticket(console, unique("Unrelated "))
    made = await console.api.post(
        f"/api/v1/tickets/{mine['id']}/links",
        json={"kind": "related", "linked_ticket_id": linked["id"]},
        headers={"X-Agent-Id": str((await console.agent("administrator")).id)},
    )
    assert made.status_code == 201, made.text
    before = await console.messages_of(linked["id"])
    async with logged_in_client(console, specialist.login) as (client, csrf):
        page = await client.get(f"/console/tickets/{linked['id']}")
        assert page.status_code == 200 and linked["subject"] in page.text
        assert f"#{mine['number']}" in page.text  # its panel shows the way back
        assert (await client.get(f"/console/tickets/{unrelated['id']}")).status_code == 404
        # read-only for them: every form's POST is refused with 403, saying why
        writes = {
            "reply": {"text": "from the side", "mode": "note"},
            "change": {"status_id": "999"},
            "escalate": {"group_id": "1", "note": "from the side"},
            "links": {"kind": "related", "other": str(mine["number"])},
            "links/remove": {"kind": "related", "other_id": str(mine["id"])},
            "merge": {"target": str(mine["number"])},
        }
        for action, fields in writes.items():
            refused = await client.post(
                f"/console/tickets/{linked['id']}/{action}", data={"csrf_token": csrf, **fields}
            )
            assert refused.status_code == 403, (action, refused.text)
            assert f"read-only: linked to your ticket #{mine['number']}" in refused.text
        unrelated_reply = await client.post(
            f"/console/tickets/{unrelated['id']}/reply",
            data={"csrf_token": csrf, "text": "from the side", "mode": "note"},
        )
        assert unrelated_reply.status_code == 404  # one it may not even read: not found
        # ... nor link their own ticket to one they cannot change
        sideways = await client.post(
            f"/console/tickets/{mine['id']}/links",
            data={"csrf_token": csrf, "kind": "related", "other": str(unrelated["number"])},
        )
        assert sideways.status_code == 404
    assert await console.messages_of(linked["id"]) == before
    assert await _links(console, mine["id"]) == [("related", linked["id"], True)]
    assert (await console.api.get(f"/api/v1/tickets/{linked['id']}")).json()["status"] == "open"


async def test_a_specialist_sees_a_linked_ticket_read_only_in_the_browser(
    console: Console,
) -> None:
    """No reply box, no side form, no escalation, link or merge forms on a ticket they may
    only read; a notice names their own ticket. Their own ticket keeps every form."""
    specialist = await console.agent("specialist")
    mine = await _ticket(console, unique("Mine "), responsible_agent_id=specialist.id)
    linked = await _ticket(console, unique("Linked "))
    made = await console.api.post(
        f"/api/v1/tickets/{linked['id']}/links",
        json={"kind": "parent", "linked_ticket_id": mine["id"]},
        headers={"X-Agent-Id": str((await console.agent("administrator")).id)},
    )
    assert made.status_code == 201, made.text
    forms = [
        "#reply-form",
        "#change-form",
        "#link-form",
        "#merge-form",
        "form[action$='/escalate']",
    ]
    opened = await console.log_in(specialist)
    page = opened.page
    try:
        await page.goto(console.url(f"/tickets/{linked['id']}"))
        notice = page.locator("#read-only")
        await notice.wait_for()
        text = await notice.text_content() or ""
        assert f"linked to your ticket #{mine['number']}" in text
        assert text.lower().startswith("read-only")
        assert linked["subject"] in (await page.text_content("#summary") or "")
        for selector in forms:
            assert await page.locator(selector).count() == 0, selector
        assert await page.locator("#links button.link-remove").count() == 0
        await page.locator("#links .link-row", has_text=f"#{mine['number']}").wait_for()
        await console.shot(page, "ticket-read-only-linked")

        await page.click(f"#links a:has-text('#{mine['number']}')")  # back to their own
        await page.wait_for_url(console.url(f"/tickets/{mine['id']}"))
        await page.locator("#reply-form").wait_for()
        assert await page.locator("#read-only").count() == 0
        for selector in forms:
            assert await page.locator(selector).count() == 1, selector
        assert json.dumps(opened.errors) == "[]"
    finally:
        await opened.close()
