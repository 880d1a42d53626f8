"""Every notification type and fallback rule against the running system (transient
delivery errors: ``test_notification_retries.py``):
ticket-core publishes (or the test produces) the ticket event, the notifier renders and
sends, and the assertions are on what the real SMTP sink and the fake Twilio received.

Absence is checked behind a sentinel: a later event of the same ticket (same partition,
handled after) whose notice has arrived, so an unwanted earlier notice would have too.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from devstack.probes import eventually, produce_records
from devstack.stack import Stack
from devstack.test_system import Fakes, MailSink, ensure_sms_and_phone_accounts
from helpdesk_common.records import (
    Channel,
    InboundMessage,
    SenderIdentity,
    ThreadHints,
    TicketEvent,
    TicketEventKind,
)
from helpdesk_common.topics import TICKET_EVENTS
from ticket_core.audit import SYSTEM, Actor

from .conftest import Desk, unique, webform
from .notify_helpers import (  # notification_api: the module's ``api`` fixture
    TIMEOUT,
    agent_email,
    agent_name,
    as_agent,
    assigned_ticket,
    company_with_email,
    configure,
    html_of,
    mails_to,
    new_phone,
    notification,
    notification_api,  # noqa: F401
    one_mail,
    text_of,
    with_subject,
)

K = TicketEventKind


async def status_of(api: httpx.AsyncClient, category: str) -> dict[str, Any]:
    found = (await api.get("/api/v1/statuses", params={"limit": 100})).json()["items"]
    return next(s for s in found if s["category"] == category and s["is_default"])


async def test_status_changes_notify_agents_and_the_contact_at_selected_statuses_and_resolution(
    api: httpx.AsyncClient, desk: Desk, mail_sink: MailSink, running: Stack
) -> None:
    pending = await status_of(api, "pending")
    await configure(
        api, "types/contact.status_changed", {"enabled": True, "status_ids": [pending["id"]]}
    )
    await configure(api, "types/contact.ticket_resolved", {"enabled": True})
    lead, responsible = await desk.agent("lead_specialist"), await desk.agent()
    customer = f"{unique('c')}@example.com"
    ticket = await assigned_ticket(desk, webform(customer), responsible, lead)
    tag = f"[#{ticket['number']}]"
    until = datetime.now(UTC) + timedelta(days=2)
    for change in ({"status": "pending", "pending_until": until}, {"status": "resolved"}):
        outcome = await desk.change([ticket["id"]], Actor.agent(lead), **change)
        assert outcome.updated == [ticket["id"]], outcome.failed

    agent_address = await agent_email(desk, responsible)
    moved = await one_mail(
        mail_sink, agent_address, f"Status {pending['name']}: {ticket['subject']} {tag}", "pending"
    )
    assert f"to {pending['name']} (by {await agent_name(desk, lead)})" in text_of(moved)
    resolved = await status_of(api, "resolved")
    await one_mail(
        mail_sink,
        agent_address,
        f"Status {resolved['name']}: {ticket['subject']} {tag}",
        "resolved",
    )
    # The contact: the selected status (pending) and the resolution with its rating link;
    # the resolved status was not selected for contact.status_changed.
    done = await one_mail(mail_sink, customer, f"Your request is resolved {tag}", "resolved mail")
    mails = await mails_to(mail_sink, customer)()
    assert [m["Subject"] for m in mails] == [
        f"Your request is {pending['name']} {tag}",
        f"Your request is resolved {tag}",
    ]
    assert [notification(m) for m in mails] == ["contact.status_changed", "contact.ticket_resolved"]
    body = text_of(done)
    assert "Please rate our work: " in body and "acme-brand" in html_of(done)
    link = body.split("Please rate our work: ")[1].split()[0]
    assert "/rate/" in link and link in html_of(done)
    # The link is ratings.page_url's: the running ticket-core serves that page.
    port = running.config.service_ports["ticket-core"]
    page = await api.get(f"http://127.0.0.1:{port}/rate/{link.split('/rate/')[1]}")
    assert page.status_code == 200 and str(ticket["number"]) in page.text


@pytest.mark.parametrize("internal", [False, True], ids=["public reply", "internal note"])
async def test_an_agent_is_not_notified_of_their_own_reply_or_note(
    internal: bool, desk: Desk, mail_sink: MailSink, tickets_api: httpx.AsyncClient
) -> None:
    lead, responsible, observer = [
        await desk.agent(r) for r in ("lead_specialist", "specialist", "specialist")
    ]
    ticket = await assigned_ticket(
        desk,
        webform(f"{unique('c')}@example.com"),
        responsible,
        lead,
        observer_agent_ids=frozenset({observer}),
    )
    subject = f"New comment: {ticket['subject']} [#{ticket['number']}]"
    for author, text in ((responsible, "Replaced the roller"), (observer, "Thanks, noted")):
        written = await tickets_api.post(
            f"/api/v1/tickets/{ticket['id']}/replies",
            json={"text": text, "internal": internal},
            headers=as_agent(author),
        )
        assert written.status_code == 201, written.text
    # The observer hears of the responsible agent's comment, by name ...
    heard = await one_mail(
        mail_sink, await agent_email(desk, observer), subject, "observer's new-comment mail"
    )
    expected = f"{await agent_name(desk, responsible)} wrote on ticket #{ticket['number']}"
    assert expected in text_of(heard) and "Replaced the roller" in text_of(heard)
    assert ("(internal note)" in text_of(heard)) is internal
    # ... and the responsible agent hears of the observer's only (the later event).
    mine = await one_mail(
        mail_sink, await agent_email(desk, responsible), subject, "responsible's new-comment mail"
    )
    assert "Thanks, noted" in text_of(mine) and "Replaced the roller" not in text_of(mine)


async def test_a_mention_in_a_note_reaches_the_mentioned_agent_with_the_text(
    desk: Desk, mail_sink: MailSink, tickets_api: httpx.AsyncClient
) -> None:
    writer, colleague = await desk.agent(), await desk.agent()
    (ticket,) = await desk.tickets()
    address = await agent_email(desk, colleague)
    note = await tickets_api.post(
        f"/api/v1/tickets/{ticket['id']}/replies",
        json={"text": f"@{address} can you check the toner?", "internal": True},
        headers=as_agent(writer),
    )
    assert note.status_code == 201, note.text
    subject = f"You were mentioned: {ticket['subject']} [#{ticket['number']}]"
    mail = await one_mail(mail_sink, address, subject, "mention mail")
    assert (
        f"{await agent_name(desk, writer)} mentioned you on ticket #{ticket['number']}"
        in text_of(mail)
    )
    assert "can you check the toner?" in text_of(mail)


@pytest.mark.parametrize(
    ("kind", "details", "subject", "phrase"),
    [
        (
            K.SLA_WARNING,
            {"target": "reaction", "due_at": "2031-05-04 12:00"},
            "SLA reaction due soon: {s}",
            "runs out at 2031-05-04 12:00",
        ),
        (
            K.SLA_BREACHED,
            {"target": "resolution", "due_at": "2031-05-04 18:00"},
            "SLA resolution breached: {s}",
            "ran out at 2031-05-04 18:00",
        ),
        (
            K.NOTIFY_REQUESTED,
            {"text": "Call the client back today"},
            "{s}",
            "Call the client back today",
        ),
    ],
    ids=["sla warning", "sla breach", "trigger request"],
)
async def test_sla_and_trigger_events_reach_the_responsible_agent(
    kind: TicketEventKind,
    details: dict[str, str],
    subject: str,
    phrase: str,
    running: Stack,
    desk: Desk,
    mail_sink: MailSink,
) -> None:
    responsible = await desk.agent()
    (ticket,) = await desk.tickets()
    outcome = await desk.change([ticket["id"]], SYSTEM, responsible_agent_id=responsible)
    assert outcome.updated == [ticket["id"]]
    assert running.infra is not None
    event = TicketEvent(
        kind=kind, ticket_id=ticket["id"], ticket_number=ticket["number"], details=details
    )
    await produce_records(running.infra.kafka, TICKET_EVENTS.name, [event])
    expected = subject.format(s=f"{ticket['subject']} [#{ticket['number']}]")
    mail = await one_mail(mail_sink, await agent_email(desk, responsible), expected, kind.value)
    assert phrase in text_of(mail) and phrase in html_of(mail) and "acme-brand" in html_of(mail)


async def test_escalation_and_return_notify_the_second_line_and_the_agent_it_returns_to(
    api: httpx.AsyncClient, desk: Desk, mail_sink: MailSink, tickets_api: httpx.AsyncClient
) -> None:
    lead, first, second = (
        await desk.agent("lead_specialist"),
        await desk.agent(),
        await desk.agent(),
    )
    line = await desk.group([second])
    listed = await api.put(
        f"/api/v1/notifications/groups/{line}/members", json={"agent_ids": [second]}
    )
    assert listed.status_code == 200, listed.text
    ticket = await assigned_ticket(desk, webform(f"{unique('c')}@example.com"), first, lead)
    tag = f"{ticket['subject']} [#{ticket['number']}]"
    up = await tickets_api.post(
        f"/api/v1/tickets/{ticket['id']}/escalate",
        json={"group_id": line, "note": "Firmware bug, needs the vendor"},
        headers=as_agent(first),
    )
    assert up.status_code == 200, up.text
    escalated = await one_mail(
        mail_sink,
        await agent_email(desk, second),
        f"Escalated to the second line: {tag}",
        "escalation",
    )
    text = text_of(escalated)
    assert f"{await agent_name(desk, first)} passed ticket #{ticket['number']}" in text
    assert "Firmware bug, needs the vendor" in text
    back = await tickets_api.post(
        f"/api/v1/tickets/{ticket['id']}/return",
        json={"note": "Vendor shipped a patch"},
        headers=as_agent(second),
    )
    assert back.status_code == 200, back.text
    returned = await one_mail(
        mail_sink, await agent_email(desk, first), f"Returned to the first line: {tag}", "return"
    )
    assert "Vendor shipped a patch" in text_of(returned)
    # The agent who escalated was not told of their own escalation (handled before the return).
    assert not with_subject("Escalated")(
        await mails_to(mail_sink, await agent_email(desk, first))()
    )


def sms_message(phone: str, text: str = "Hot water is gone") -> InboundMessage:
    return InboundMessage(
        idempotency_key=f"test:{uuid.uuid4().hex}",
        channel=Channel.SMS,
        channel_account="sms_twilio",
        sender=SenderIdentity(channel_user_id=phone, phone=phone),
        thread=ThreadHints(conversation_id=phone),
        text=text,
    )


@pytest.mark.parametrize(
    ("copy", "contact", "expected"),
    [
        ("always", "email", ["contact", "company"]),
        ("no_contact_email", "phone", ["company"]),
        ("no_contact", "none", ["company"]),
    ],
)
async def test_copies_to_the_company_email(
    copy: str,
    contact: str,
    expected: list[str],
    api: httpx.AsyncClient,
    desk: Desk,
    mail_sink: MailSink,
    fakes: Fakes,
    tickets_api: httpx.AsyncClient,
) -> None:
    """``company_copy`` always / when the contact has no email / when the ticket has no
    contact; the fallback is off here, so the company's mail is the copy itself."""
    await ensure_sms_and_phone_accounts(str(tickets_api.base_url), fakes)
    await configure(api, "types/contact.ticket_registered", {"enabled": True, "sms_on": False})
    await configure(api, "settings", {"company_copy": copy, "fallback_to_company_email": False})
    try:
        company_id, company_email = await company_with_email(api)
        customer = f"{unique('c')}@example.com"
        message = webform(customer) if contact != "phone" else sms_message(new_phone())
        ticket = await assigned_ticket(
            desk,
            message,
            await desk.agent(),
            await desk.agent(),
            company_id=company_id,
            without_contact=contact == "none",
        )
        subject = f"Your request is registered: {ticket['subject']} [#{ticket['number']}]"
        addresses = {"contact": customer, "company": company_email}
        for who in expected:
            mail = await one_mail(mail_sink, addresses[who], subject, f"{who} copy")
            assert notification(mail) == "contact.ticket_registered"
            assert f"under number {ticket['number']}" in text_of(mail)
    finally:  # later tests expect the defaults: no registration notice, no company copy
        (
            await api.delete("/api/v1/notifications/types/contact.ticket_registered")
        ).raise_for_status()
        await configure(
            api, "settings", {"company_copy": "never", "fallback_to_company_email": True}
        )


async def test_an_agent_public_comment_goes_to_the_company_and_a_copy_to_its_author(
    api: httpx.AsyncClient, desk: Desk, mail_sink: MailSink, tickets_api: httpx.AsyncClient
) -> None:
    """The contact already gets the reply itself; the notification goes to the company
    (``always``) and, with ``copy_to_author``, to the agent who wrote it."""
    await configure(api, "types/contact.agent_comment", {"enabled": True})
    await configure(api, "settings", {"company_copy": "always", "copy_to_author": True})
    try:
        company_id, company_email = await company_with_email(api)
        writer = await desk.agent()
        customer = f"{unique('c')}@example.com"
        ticket = await assigned_ticket(
            desk, webform(customer), writer, await desk.agent(), company_id=company_id
        )
        reply = await tickets_api.post(
            f"/api/v1/tickets/{ticket['id']}/replies",
            json={"text": "The new roller is on its way"},
            headers=as_agent(writer),
        )
        assert reply.status_code == 201, reply.text
        subject = f"Re: {ticket['subject']} [#{ticket['number']}]"
        for address in (company_email, await agent_email(desk, writer)):
            mail = await one_mail(mail_sink, address, subject, f"agent comment to {address}")
            assert notification(mail) == "contact.agent_comment"
            assert "The new roller is on its way" in text_of(mail)
            assert "The new roller is on its way" in html_of(mail) and "acme-brand" in html_of(mail)
        # The contact's own copy is the reply (replies pipeline), not a notification.
        answered = await eventually(
            mails_to(mail_sink, customer), lambda m: len(m) >= 1, TIMEOUT, "reply"
        )
        assert [notification(m) for m in answered] == [None]
    finally:
        await configure(api, "settings", {"company_copy": "never", "copy_to_author": False})
