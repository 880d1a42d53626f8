"""ticket-core's notification contexts for a batch of events, against the real PostgreSQL:
each ticket gets its own contact, company, agents and message, in one set of queries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from helpdesk_common.records import Channel, InboundMessage, SenderIdentity, ThreadHints
from sqlalchemy import select, update
from ticket_core import crud
from ticket_core import repository as repo
from ticket_core.audit import Actor
from ticket_core.models_org import companies
from ticket_core.notification_context import ContextRequest, contexts
from ticket_core.notifications_repo import save_profile, set_notify_members

from .conftest import Desk, unique


async def test_contexts_of_a_batch_keep_each_ticket_to_itself(desk: Desk) -> None:
    responsible, observer, listed, mentioned = [await desk.agent() for _ in range(4)]
    group = await desk.group([listed])
    phone = f"+7926{uuid.uuid4().int % 10**7:07d}"
    async with desk.sessions() as session, session.begin():
        await save_profile(
            session,
            {
                "agent_id": responsible,
                "mobile_phone": "+79990001122",
                "email_on": True,
                "sms_on": True,
            },
        )
        await set_notify_members(session, group, [listed])
        company = await crud.create(
            session,
            companies,
            {"name": unique("Co "), "category_id": 1, "notification_email": "office@co.test"},
        )
    (email_ticket,) = await desk.tickets(1)
    sms = InboundMessage(
        idempotency_key=f"test:{uuid.uuid4().hex}",
        channel=Channel.SMS,
        channel_account="sms_test",
        sender=SenderIdentity(channel_user_id=phone, phone=phone),
        thread=ThreadHints(conversation_id=phone),
        text="No water",
    )
    await desk.ingest([sms])
    async with desk.sessions() as session:
        ticket_id = await session.scalar(
            select(repo.messages.c.ticket_id).where(
                repo.messages.c.idempotency_key == sms.idempotency_key
            )
        )
        assert ticket_id is not None
        sms_ticket = await desk.ticket(ticket_id)
    async with desk.sessions() as session, session.begin():
        await session.execute(
            update(repo.contacts)
            .where(repo.contacts.c.id == sms_ticket["contact_id"])
            .values(company_id=company["id"])
        )
    await desk.change(
        [email_ticket["id"]],
        Actor.agent(observer),
        responsible_agent_id=responsible,
        observer_agent_ids=frozenset({observer}),
    )
    await desk.change([sms_ticket["id"]], Actor.agent(observer), responsible_group_id=group)
    async with desk.sessions() as session:
        answers = await contexts(
            session,
            [
                ContextRequest(email_ticket["id"], first_message=True),
                ContextRequest(sms_ticket["id"], agent_ids=(mentioned,)),
                ContextRequest(-5),
            ],
        )
    by_email, by_sms, missing = answers
    assert missing is None
    assert by_email is not None and by_sms is not None
    assert by_email["ticket"]["number"] == email_ticket["number"]
    assert by_email["contact"]["email"].endswith("@example.com")
    assert by_email["company"] is None
    assert by_email["responsible_agent_id"] == responsible
    assert by_email["observer_agent_ids"] == [observer]
    assert by_email["agents"][str(responsible)]["phone"] == "+79990001122"
    assert set(by_email["agents"]) == {str(responsible), str(observer)}
    assert by_email["message"]["kind"] == "customer"
    assert by_email["message"]["id"] == by_email["first_message_id"]

    assert by_sms["ticket"]["number"] == sms_ticket["number"]
    assert by_sms["contact"]["email"] is None and by_sms["contact"]["phone"] == phone
    assert by_sms["company"] == {
        "id": company["id"],
        "name": company["name"],
        "email": "office@co.test",
    }
    assert by_sms["group_agent_ids"] == [listed]
    assert set(by_sms["agents"]) == {str(listed), str(mentioned)}
    assert by_sms["message"] is None  # not asked for
    assert datetime.fromisoformat(by_sms["ticket"]["created_at"]) <= datetime.now(UTC)
