"""Notifications against the running system: ticket-core's configuration API, ticket events
through the broker, the notifier rendering and sending to the real SMTP sink and the fake
Twilio server.

Tickets are made in-process as production makes them (``ingest_batch``), assigned in the
same transaction (``apply_changes``), so the running ticket-core's outbox publishes the
events together and the notifier finds the ticket as the test set it up. The
configuration is global: every change is undone at the end of the module.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from devstack.probes import eventually, produce_records
from devstack.stack import Stack
from devstack.test_system import (
    INTERNAL_TOKEN,
    Fakes,
    MailSink,
    ensure_sms_and_phone_accounts,
)
from helpdesk_common.notification_templates import TYPES
from helpdesk_common.records import (
    Channel,
    InboundMessage,
    SenderIdentity,
    ThreadHints,
    TicketEvent,
    TicketEventKind,
)
from helpdesk_common.topics import TICKET_EVENTS
from sqlalchemy import select
from ticket_core.models_workflow import ticket_types

from .conftest import Desk, unique, webform
from .notify_helpers import (
    LAYOUT,
    TIMEOUT,
    agent_email,
    assigned_ticket,
    configure,
    mails_to,
    reset_configuration,
    with_subject,
)


@pytest.fixture(scope="module")
async def api(running: Stack) -> AsyncIterator[httpx.AsyncClient]:
    port = running.config.service_ports["ticket-core"]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=15) as client:
        yield client
        await reset_configuration(client)


async def test_new_ticket_notifies_the_responsible_agent_by_email_inside_the_layout(
    api: httpx.AsyncClient, desk: Desk, mail_sink: MailSink
) -> None:
    await configure(api, "settings", {"layout": LAYOUT, "sender_name": "Acme Help"})
    lead, responsible = await desk.agent("lead_specialist"), await desk.agent()
    subject = unique("Printer ")
    ticket = await assigned_ticket(
        desk,
        webform(f"{unique('c')}@example.com", text="It jams", subject=subject),
        responsible,
        lead,
    )
    address = await agent_email(desk, responsible)
    mails = await eventually(
        mails_to(mail_sink, address), with_subject("New ticket"), TIMEOUT, "new-ticket mail"
    )
    mail = next(m for m in mails if str(m["Subject"]).startswith("New ticket"))
    assert mail["Subject"] == f"New ticket: {subject} [#{ticket['number']}]"
    assert str(mail["From"]).startswith("Acme Help <")
    assert mail["Auto-Submitted"] == "auto-generated"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"A new ticket #{ticket['number']} was registered" in text and "It jams" in text
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert '<div id="acme-brand">ACME HELP</div>' in html
    assert f"A new ticket #{ticket['number']} was registered" in html


async def test_contact_without_email_is_notified_at_the_company_email_and_sms_reaches_twilio(
    api: httpx.AsyncClient,
    desk: Desk,
    mail_sink: MailSink,
    fakes: Fakes,
    tickets_api: httpx.AsyncClient,
) -> None:
    await ensure_sms_and_phone_accounts(str(tickets_api.base_url), fakes)
    company_email = f"{unique('office')}@client.test"
    company = await api.post(
        "/api/v1/companies", json={"name": unique("Client "), "notification_email": company_email}
    )
    assert company.status_code == 201, company.text
    await configure(api, "types/contact.ticket_registered", {"enabled": True, "sms_on": True})
    phone = f"+7916{uuid.uuid4().int % 10**7:07d}"
    message = InboundMessage(
        idempotency_key=f"test:{uuid.uuid4().hex}",
        channel=Channel.SMS,
        channel_account="sms_twilio",
        sender=SenderIdentity(channel_user_id=phone, phone=phone),
        thread=ThreadHints(conversation_id=phone),
        text="No hot water",
    )
    ticket = await assigned_ticket(
        desk, message, await desk.agent(), await desk.agent(), company_id=company.json()["id"]
    )
    mails = await eventually(
        mails_to(mail_sink, company_email), lambda m: len(m) == 1, TIMEOUT, "company mail"
    )
    assert mails[0]["Subject"] == f"Your request is registered: No hot water [#{ticket['number']}]"
    sms = await eventually(
        lambda: asyncio.sleep(0, fakes.twilio.calls_of("messages.create", To=phone)),
        lambda calls: len(calls) == 1,
        TIMEOUT,
        "registration SMS",
    )
    assert sms[0].params["Body"] == f"Your request is registered as #{ticket['number']}"


async def test_an_internal_ticket_never_notifies_its_contact(
    api: httpx.AsyncClient, desk: Desk, mail_sink: MailSink, tickets_api: httpx.AsyncClient
) -> None:
    await configure(api, "types/contact.ticket_registered", {"enabled": True})
    async with desk.sessions() as session:
        internal = await session.scalar(select(ticket_types.c.id).where(ticket_types.c.internal))
    customer = f"{unique('c')}@example.com"
    responsible = await desk.agent()
    ticket = await assigned_ticket(
        desk, webform(customer), responsible, await desk.agent(), type_id=internal
    )
    # A later event on the same ticket (same partition, handled after): once its mail is
    # in, a contact notification of the first event would be too.
    note = await tickets_api.post(
        f"/api/v1/tickets/{ticket['id']}/replies", json={"text": "Sentinel", "internal": True}
    )
    assert note.status_code == 201, note.text
    await eventually(
        mails_to(mail_sink, await agent_email(desk, responsible)),
        with_subject("New comment"),
        TIMEOUT,
        "sentinel mail",
    )
    assert [m for m in mail_sink.received if m["To"] == customer] == []


async def test_a_disabled_type_sends_nothing(
    api: httpx.AsyncClient, desk: Desk, mail_sink: MailSink
) -> None:
    await configure(api, "types/agent.ticket_created", {"enabled": False})
    try:
        responsible = await desk.agent()
        await assigned_ticket(
            desk, webform(f"{unique('c')}@example.com"), responsible, await desk.agent()
        )
        address = await agent_email(desk, responsible)
        # responsible.changed is handled after ticket.created (same ticket, same partition)
        mails = await eventually(
            mails_to(mail_sink, address), with_subject("Ticket assigned"), TIMEOUT, "assignment"
        )
        assert not with_subject("New ticket")(mails)
    finally:
        await configure(api, "types/agent.ticket_created", {"enabled": True})


async def test_a_redelivered_event_is_sent_once(
    running: Stack, desk: Desk, mail_sink: MailSink
) -> None:
    (ticket,) = await desk.tickets()
    first, second = await desk.agent(), await desk.agent()
    mention = TicketEvent(
        kind=TicketEventKind.AGENT_MENTIONED,
        ticket_id=ticket["id"],
        ticket_number=ticket["number"],
        details={"agent_ids": str(first)},
    )
    sentinel = mention.model_copy(
        update={"event_id": uuid.uuid4().hex, "details": {"agent_ids": str(second)}}
    )
    assert running.infra is not None
    await produce_records(running.infra.kafka, TICKET_EVENTS.name, [mention, mention, sentinel])
    await eventually(
        mails_to(mail_sink, await agent_email(desk, second)),
        lambda m: len(m) == 1,
        TIMEOUT,
        "sentinel",
    )
    mails = await mails_to(mail_sink, await agent_email(desk, first))()
    assert [m["Subject"] for m in mails] == [
        f"You were mentioned: {ticket['subject']} [#{ticket['number']}]"
    ]


async def test_agent_sms_notification_reaches_the_fake_provider(
    api: httpx.AsyncClient, desk: Desk, fakes: Fakes, tickets_api: httpx.AsyncClient
) -> None:
    await ensure_sms_and_phone_accounts(str(tickets_api.base_url), fakes)
    responsible = await desk.agent()
    phone = f"+7903{uuid.uuid4().int % 10**7:07d}"
    profile = await api.put(
        f"/api/v1/notifications/agents/{responsible}", json={"mobile_phone": phone}
    )
    assert profile.status_code == 200, profile.text
    ticket = await assigned_ticket(
        desk, webform(f"{unique('c')}@example.com"), responsible, await desk.agent()
    )
    calls = await eventually(
        lambda: asyncio.sleep(0, fakes.twilio.calls_of("messages.create", To=phone)),
        lambda found: len(found) >= 2,
        TIMEOUT,
        "agent SMS (new ticket and assignment)",
    )
    bodies = sorted(c.params["Body"] for c in calls)
    assert bodies == sorted(
        [
            f"New ticket #{ticket['number']}: {ticket['subject']}",
            f"Ticket #{ticket['number']} assigned: {ticket['subject']}",
        ]
    )


async def test_templates_and_layout_are_validated_at_save(api: httpx.AsyncClient) -> None:
    broken = await api.patch(
        "/api/v1/notifications/types/agent.ticket_created", json={"body": "{{ ticket.number "}
    )
    assert broken.status_code == 422 and "syntax error" in broken.json()["detail"]
    unknown = await api.patch(
        "/api/v1/notifications/types/agent.ticket_created", json={"subject": "{{ secrets }}"}
    )
    assert unknown.status_code == 422 and "unknown variable(s) secrets" in unknown.json()["detail"]
    no_slot = await api.patch(
        "/api/v1/notifications/settings", json={"layout": "<p>{{ subject }}</p>"}
    )
    assert no_slot.status_code == 422 and "content" in no_slot.json()["detail"]
    assert (await api.patch("/api/v1/notifications/types/no.such", json={})).status_code == 404
    bad_copy = await api.patch("/api/v1/notifications/settings", json={"company_copy": "sometimes"})
    assert bad_copy.status_code == 422
    bad_status = await api.patch(
        "/api/v1/notifications/types/contact.status_changed", json={"status_ids": [987654]}
    )
    assert bad_status.status_code == 422
    stored = (await api.get("/api/v1/notifications/types/agent.ticket_created")).json()
    assert stored["body"] == TYPES["agent.ticket_created"].body  # nothing refused was kept
    page = (await api.get("/api/v1/notifications/types", params={"limit": 2, "offset": 1})).json()
    assert page["total"] == len(TYPES) and len(page["items"]) == 2
    assert (
        "rating_url"
        in (await api.get("/api/v1/notifications/types/contact.ticket_resolved")).json()[
            "variables"
        ]
    )


async def test_observers_and_the_groups_notify_list_hear_of_a_new_ticket(
    api: httpx.AsyncClient, desk: Desk, mail_sink: MailSink
) -> None:
    listed, unlisted, observer = await desk.agent(), await desk.agent(), await desk.agent()
    group = await desk.group([listed, unlisted])
    members = await api.put(
        f"/api/v1/notifications/groups/{group}/members", json={"agent_ids": [listed]}
    )
    assert members.status_code == 200, members.text
    ticket = await assigned_ticket(
        desk,
        webform(f"{unique('c')}@example.com"),
        None,
        await desk.agent(),
        responsible_group_id=group,
        observer_agent_ids=frozenset({observer}),
    )
    new = f"New ticket: {ticket['subject']} [#{ticket['number']}]"
    assigned = f"Ticket assigned: {ticket['subject']} [#{ticket['number']}]"
    for agent_id in (listed, observer):
        # both events: the ticket is new, and its responsible (the group) was set
        mails = await eventually(
            mails_to(mail_sink, await agent_email(desk, agent_id)),
            lambda m: len(m) == 2,
            TIMEOUT,
            f"mails to agent {agent_id}",
        )
        assert sorted(m["Subject"] for m in mails) == sorted([new, assigned])
    # the group's other member is not on its notify list: nothing
    assert await mails_to(mail_sink, await agent_email(desk, unlisted))() == []


async def test_profiles_lists_and_the_internal_api_refuse_bad_input(
    api: httpx.AsyncClient, desk: Desk
) -> None:
    agent_id = await desk.agent()
    bad_phone = await api.put(
        f"/api/v1/notifications/agents/{agent_id}", json={"mobile_phone": "call me"}
    )
    assert bad_phone.status_code == 422
    assert (await api.put("/api/v1/notifications/agents/987654321", json={})).status_code == 404
    group = await desk.group()
    unknown = await api.put(
        f"/api/v1/notifications/groups/{group}/members", json={"agent_ids": [987654321]}
    )
    assert unknown.status_code == 422 and "987654321" in unknown.json()["detail"]
    no_token = await api.get("/internal/v1/notifications/config")
    assert no_token.status_code == 401
    wrong = await api.post(
        "/internal/v1/notifications/contexts",
        json={"items": [{"ticket_id": 1}]},
        headers={"Authorization": "Bearer nope"},
    )
    assert wrong.status_code == 401
    ticket = await assigned_ticket(desk, webform(f"{unique('c')}@example.com"), agent_id, agent_id)
    answer = await api.post(
        "/internal/v1/notifications/contexts",
        json={"items": [{"ticket_id": ticket["id"], "first_message": True}, {"ticket_id": -1}]},
        headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"},
    )
    assert answer.status_code == 200, answer.text
    found, missing = answer.json()["items"]
    assert missing is None
    assert found["ticket"]["number"] == ticket["number"]
    assert found["responsible_agent_id"] == agent_id and str(agent_id) in found["agents"]
    assert found["message"]["kind"] == "customer" and found["message"]["text"]
