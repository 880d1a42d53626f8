"""Transient delivery errors against the running system: the SMTP sink and the fake
Twilio answer errors, and each notice still goes out once (or, refused for good, never)."""

from __future__ import annotations

import asyncio

import httpx
from devstack.probes import eventually
from devstack.test_system import Fakes, MailSink, ensure_sms_and_phone_accounts

from .conftest import Desk, unique, webform
from .notify_helpers import (  # notification_api: the module's ``api`` fixture
    TIMEOUT,
    agent_email,
    assigned_ticket,
    mails_to,
    new_phone,
    notification_api,  # noqa: F401
    one_mail,
    with_subject,
)


async def test_transient_smtp_answers_are_retried_and_a_refusal_is_not(
    desk: Desk, mail_sink: MailSink
) -> None:
    """451 twice: the mail goes out on the third attempt, once. 550: that notice fails
    for good (never retried) and the others go on."""
    deferred, refused = await desk.agent(), await desk.agent()
    deferred_address, refused_address = (
        await agent_email(desk, deferred),
        await agent_email(desk, refused),
    )
    mail_sink.answer_next[deferred_address.lower()] = ["451 4.3.0 mailbox busy"] * 2
    mail_sink.answer_next[refused_address.lower()] = ["550 5.1.1 no such user"]
    ticket = await assigned_ticket(
        desk,
        webform(f"{unique('c')}@example.com"),
        deferred,
        await desk.agent(),
        observer_agent_ids=frozenset({refused}),
    )
    new = f"New ticket: {ticket['subject']} [#{ticket['number']}]"
    assigned = f"Ticket assigned: {ticket['subject']} [#{ticket['number']}]"
    await one_mail(mail_sink, deferred_address, new, "deferred mail")
    await one_mail(mail_sink, deferred_address, assigned, "deferred mail's successor")
    assert [r for r in mail_sink.refused if r[0] == deferred_address.lower()] == [
        (deferred_address.lower(), "451 4.3.0 mailbox busy")
    ] * 2
    # The refused address: its first notice failed for good, its second one went out.
    await one_mail(mail_sink, refused_address, assigned, "the notice after the refusal")
    assert not with_subject("New ticket")(await mails_to(mail_sink, refused_address)())
    assert [r for r in mail_sink.refused if r[0] == refused_address.lower()] == [
        (refused_address.lower(), "550 5.1.1 no such user")
    ]


async def test_sms_provider_500_and_429_with_retry_after_are_retried_and_sent_once(
    api: httpx.AsyncClient, desk: Desk, fakes: Fakes, tickets_api: httpx.AsyncClient
) -> None:
    await ensure_sms_and_phone_accounts(str(tickets_api.base_url), fakes)
    responsible, phone = await desk.agent(), new_phone("+7903")
    profile = await api.put(
        f"/api/v1/notifications/agents/{responsible}", json={"mobile_phone": phone}
    )
    assert profile.status_code == 200, profile.text
    fakes.twilio.fail_next("messages.create", 500, {"code": 20500, "message": "Internal Error"})
    fakes.twilio.fail_next("messages.create", 429, {"code": 20429, "message": "Too Many Requests"})
    ticket = await assigned_ticket(
        desk, webform(f"{unique('c')}@example.com"), responsible, await desk.agent()
    )
    new = f"New ticket #{ticket['number']}: {ticket['subject']}"
    assigned = f"Ticket #{ticket['number']} assigned: {ticket['subject']}"
    calls = await eventually(
        lambda: asyncio.sleep(0, fakes.twilio.calls_of("messages.create", To=phone)),
        lambda found: assigned in [c.params["Body"] for c in found],
        TIMEOUT,
        "both SMS after the errors",
    )
    # Two refused attempts of the first SMS, then each SMS accepted once.
    assert [c.params["Body"] for c in calls] == [new, new, new, assigned]
    assert fakes.twilio.take_failure("messages.create") is None
