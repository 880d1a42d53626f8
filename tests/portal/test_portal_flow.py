"""The customer portal in a browser: a contact given portal access by an agent logs in,
sees and answers only their own public tickets (never another contact's, an internal
ticket or an internal note), attaches a file, opens a ticket with a type and priority,
confirms, reopens and rates resolved tickets; company access shows a colleague's ticket
only once granted; customer content runs nothing."""

from __future__ import annotations

import re

from ..console.console_helpers import unique
from .portal_helpers import XSS, Portal


async def test_contact_sees_answers_and_creates_only_their_public_tickets(portal: Portal) -> None:
    public_types, internal_types = await portal.type_ids()
    priorities = await portal.priority_ids()
    options = await portal.agent_call(
        "PUT",
        "/api/v1/settings/portal",
        json={"type_ids": public_types, "priority_ids": priorities},
    )
    assert options.status_code == 200, options.text
    ann, bob = await portal.customer(), await portal.customer()
    mine_subject, other_subject, hidden_subject = (
        unique("Printer "),
        unique("Bobs "),
        unique("Internal "),
    )
    mine = await portal.ticket(ann, mine_subject, "The printer is on fire")
    other = await portal.ticket(bob, other_subject)
    internal = await portal.ticket(ann, hidden_subject)
    await portal.change(internal, type_id=internal_types[0])
    note = await portal.agent_call(
        "POST",
        f"/api/v1/tickets/{mine}/replies",
        json={"text": "SECRET internal remark", "internal": True},
    )
    assert note.status_code == 201, note.text
    answer = await portal.agent_call(
        "POST",
        f"/api/v1/tickets/{mine}/replies",
        json={
            "text": "Try turning it off",
            "html": f"<p>Try <b>turning</b> it off</p>{XSS}"
            '<a href="javascript:window.__xss=3">x</a>',
        },
    )
    assert answer.status_code == 201, answer.text

    opened = await portal.log_in(ann)
    page = opened.page
    try:
        listed = await page.inner_text("#results")
        assert mine_subject in listed
        assert other_subject not in listed and hidden_subject not in listed
        assert "In progress" in listed  # the customer-facing status name
        await portal.console.shot(page, "portal-tickets")

        await page.click(f"a.subject:has-text('{mine_subject}')")
        await page.wait_for_url(portal.url(f"/tickets/{mine}"))
        thread = await page.inner_text("#thread")
        assert "The printer is on fire" in thread and "Try turning it off" in thread
        assert "SECRET" not in await page.content()
        assert await page.locator("#thread a[href^='javascript']").count() == 0
        # someone else's ticket and an internal ticket are not found
        for hidden in (other, internal):
            response = await page.goto(portal.url(f"/tickets/{hidden}"))
            assert response is not None and response.status == 404
            assert hidden_subject not in await page.content()

        # a reply with a file reaches the agents' ticket
        await page.goto(portal.url(f"/tickets/{mine}"))
        await page.fill("textarea[name=text]", "Still burning, photo attached")
        await page.set_input_files(
            "input[name=files]",
            files=[{"name": "photo.txt", "mimeType": "text/plain", "buffer": b"smoke"}],
        )
        await page.click("#send-reply")
        await page.wait_for_selector(".notice:has-text('Your message was sent')")
        detail = await portal.detail(mine)
        sent = [m for m in detail["messages"] if m["text"] == "Still burning, photo attached"]
        assert len(sent) == 1 and sent[0]["kind"] == "customer"
        assert [a["filename"] for a in sent[0]["attachments"]] == ["photo.txt"]
        link = page.locator("#thread a:has-text('photo.txt')")
        download = await page.request.get(
            portal.console.base + str(await link.get_attribute("href"))
        )
        assert download.status == 200 and await download.body() == b"smoke"
        assert "attachment" in download.headers["content-disposition"]

        # a new ticket with the type and priority the portal offers
        await page.click("nav >> text=New ticket")
        await page.wait_for_url(portal.url("/new"))
        new_subject = unique("Network ")
        await page.fill("input[name=subject]", f"{new_subject} {XSS}")
        await page.select_option("select[name=type_id]", str(public_types[0]))
        await page.select_option("select[name=priority_id]", str(priorities[-1]))
        await page.fill("textarea[name=text]", "The network is down")
        await page.click("#create-ticket")
        await page.wait_for_selector(".notice:has-text('Your ticket was created')")
        found = re.search(r"/portal/tickets/(\d+)", page.url)
        assert found is not None
        created = await portal.detail(int(found.group(1)))
        assert created["subject"].startswith(new_subject)
        assert created["contact_id"] == ann.contact_id
        assert created["type_id"] == public_types[0]
        assert created["priority_id"] == priorities[-1]
        assert "<script>" in await page.inner_text(".ticket-subject")  # shown as text
        await portal.console.shot(page, "portal-ticket")
        await page.goto(portal.url("/"))
        assert new_subject in await page.inner_text("#results")

        assert await page.evaluate("typeof window.__xss") == "undefined"
        assert opened.dialogs == [] and opened.errors == []
    finally:
        await opened.close()


async def test_resolved_tickets_are_confirmed_reopened_and_rated(portal: Portal) -> None:
    cara = await portal.customer()
    first, second, third = [await portal.ticket(cara, unique("Solved ")) for _ in range(3)]
    for ticket in (first, second, third):
        await portal.change(ticket, status="resolved")

    opened = await portal.log_in(cara)
    page = opened.page
    try:
        await page.goto(portal.url(f"/tickets/{first}"))
        assert await page.inner_text("#ticket-status") == "Resolved"
        await page.click("#confirm-resolution")
        await page.wait_for_selector(".notice:has-text('the ticket is closed')")
        assert (await portal.detail(first))["status"] == "closed"
        assert await page.locator("#confirm-resolution").count() == 0
        # a closed ticket can still be rated
        await page.check("input[name=rating][value=good]")
        await page.fill("textarea[name=comment]", "Quick and kind")
        await page.click("#send-rating")
        await page.wait_for_selector(".notice:has-text('Thank you for your rating')")
        await portal.console.shot(page, "portal-rated")

        await page.goto(portal.url(f"/tickets/{second}"))
        await page.click("#reopen")
        await page.wait_for_selector(".notice:has-text('open again')")
        assert (await portal.detail(second))["status"] == "open"
        assert await page.locator(".rating-box").count() == 0  # only resolved ones are rated

        await page.goto(portal.url(f"/tickets/{third}"))
        await page.check("input[name=rating][value=bad]")
        await page.click("#send-rating")
        await page.wait_for_selector(".notice:has-text('Thank you for your rating')")
        # a confirm on a ticket that is no longer resolved is refused with the reason
        async with portal.client() as client:
            client.cookies.set("helpdesk_portal_session", cara.token)
            page_html = (await client.get(f"/portal/tickets/{second}")).text
            csrf = page_html.split('name="csrf_token" value="')[1].split('"')[0]
            refused = await client.post(
                f"/portal/tickets/{second}/confirm", data={"csrf_token": csrf}
            )
            assert refused.status_code == 409 and "only a resolved one" in refused.text
    finally:
        await opened.close()

    ratings = {}
    for ticket in (first, third):
        rows = await portal.agent_call("GET", f"/api/v1/tickets/{ticket}/audit")
        assert rows.status_code == 200, rows.text
        ratings[ticket] = {
            r["field"]: r["new_value"] for r in rows.json()["items"] if r["actor"] == "customer"
        }
    assert ratings[first]["rating"] == "good"
    assert ratings[first]["rating_comment"] == "Quick and kind"
    assert ratings[third]["rating"] == "bad"
    assert (await portal.detail(third))["status"] == "resolved"


async def test_company_access_shows_colleagues_tickets_only_when_granted(portal: Portal) -> None:
    company = await portal.agent_call("POST", "/api/v1/companies", json={"name": unique("Acme ")})
    assert company.status_code == 201, company.text
    company_id = int(company.json()["id"])
    carl = await portal.customer(company_id=company_id)
    dora = await portal.customer(company_id=company_id)
    carl_subject, dora_subject = unique("Carls "), unique("Doras ")
    await portal.ticket(carl, carl_subject)
    doras = await portal.ticket(dora, dora_subject)
    assert (await portal.detail(doras))["company_id"] == company_id

    opened = await portal.log_in(carl)
    page = opened.page
    try:
        listed = await page.inner_text("#results")
        assert carl_subject in listed and dora_subject not in listed
        assert await page.locator("select[name=scope]").count() == 0
        response = await page.goto(portal.url(f"/tickets/{doras}"))
        assert response is not None and response.status == 404
        response = await page.goto(portal.url("/?scope=company"))
        assert response is not None and response.status == 422

        granted = await portal.agent_call(
            "PUT", f"/api/v1/contacts/{carl.contact_id}/portal-access", json={"access": "company"}
        )
        assert granted.status_code == 200, granted.text
        await page.goto(portal.url("/"))
        listed = await page.inner_text("#results")
        assert carl_subject in listed and dora_subject in listed and dora.name in listed
        await portal.console.shot(page, "portal-company")
        # the filter narrows to the contact's own tickets (HTMX swaps the results)
        await page.select_option("select[name=scope]", "mine")
        await page.wait_for_url(re.compile(r".*scope=mine.*"))
        await page.wait_for_function(
            "(s) => !document.querySelector('#results').innerText.includes(s)", arg=dora_subject
        )
        assert carl_subject in await page.inner_text("#results")
        response = await page.goto(portal.url(f"/tickets/{doras}"))
        assert response is not None and response.status == 200
        assert opened.errors == []
    finally:
        await opened.close()
