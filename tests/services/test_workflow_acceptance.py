"""Rows of the workflow acceptance table (docs/workflow-acceptance.md) that no other test
proved: a ticket's messages as a paginated list, one batch keeping each conversation's
order, and a public reply on a channel the agent chooses."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from helpdesk_common.records import (
    Channel,
    InboundMessage,
    OutboundMessage,
    SenderIdentity,
    ThreadHints,
)
from sqlalchemy import select
from ticket_core import repository as repo
from ticket_core.app import create_app
from ticket_core.audit import Actor
from ticket_core.replies import ReplyRequest, ReplySettings, add_reply
from ticket_core.settings import TicketCoreSettings

from .auth_helpers import logged_in
from .conftest import Desk, unique, webform

Api = httpx.AsyncClient


@pytest.fixture(scope="module")
def app(infra: Any) -> FastAPI:
    return create_app(
        TicketCoreSettings(
            database_url=infra.database_url,
            redis_url=infra.redis_url,
            kafka_bootstrap_servers=infra.kafka,
            blob_dir=str(infra.blob_dir),
        )
    )


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as client:
        yield client


async def _texts(desk: Desk, ticket_id: int) -> list[str]:
    async with desk.sessions() as session:
        rows = await session.execute(
            select(repo.messages.c.text)
            .where(repo.messages.c.ticket_id == ticket_id)
            .order_by(repo.messages.c.id)
        )
    return [r[0] for r in rows]


async def test_a_tickets_messages_are_listed_page_by_page_and_by_kind(api: Api, desk: Desk) -> None:
    sender = f"{unique('m')}@example.com"
    await desk.ingest([webform(sender, f"question {n}") for n in range(3)])
    ticket = await desk.ticket_of(sender)
    assert ticket is not None
    tid = ticket["id"]
    note = await api.post(
        f"/api/v1/tickets/{tid}/replies", json={"text": "checking the logs", "internal": True}
    )
    assert note.status_code == 201, note.text

    first = await api.get(f"/api/v1/tickets/{tid}/messages", params={"limit": 2})
    assert first.status_code == 200, first.text
    assert first.json()["total"] == 4
    assert [m["text"] for m in first.json()["items"]] == ["question 0", "question 1"]
    rest = await api.get(f"/api/v1/tickets/{tid}/messages", params={"limit": 2, "offset": 2})
    assert [m["kind"] for m in rest.json()["items"]] == ["customer", "internal_note"]
    notes = await api.get(f"/api/v1/tickets/{tid}/messages", params={"kind": "internal_note"})
    assert notes.json()["total"] == 1
    assert notes.json()["items"][0]["text"] == "checking the logs"

    assert (await api.get("/api/v1/tickets/999999999/messages")).status_code == 404
    bad_kind = await api.get(f"/api/v1/tickets/{tid}/messages", params={"kind": "gossip"})
    assert bad_kind.status_code == 422
    too_many = await api.get(f"/api/v1/tickets/{tid}/messages", params={"limit": 201})
    assert too_many.status_code == 422

    # a specialist reads the messages of the tickets that concern them only
    specialist = await logged_in(api, "specialist")
    hidden = await api.get(f"/api/v1/tickets/{tid}/messages", headers=specialist.headers)
    assert hidden.status_code == 404, hidden.text
    await desk.change([tid], Actor("system"), responsible_agent_id=specialist.agent_id)
    theirs = await api.get(f"/api/v1/tickets/{tid}/messages", headers=specialist.headers)
    assert theirs.status_code == 200 and theirs.json()["total"] == 4


async def test_one_batch_keeps_each_conversations_order(desk: Desk) -> None:
    """Two conversations interleaved in one batch: each gets one ticket and its messages
    in the order they arrived (the first one opens the ticket, the others join it)."""
    ann, bob = f"{unique('ann')}@example.com", f"{unique('bob')}@example.com"
    batch = [
        webform(ann, "ann 1"),
        webform(bob, "bob 1"),
        webform(ann, "ann 2"),
        webform(ann, "ann 3"),
        webform(bob, "bob 2"),
        webform(ann, "ann 4"),
    ]
    result = await desk.ingest(batch)
    assert result.duplicates == 0
    ann_ticket, bob_ticket = await desk.ticket_of(ann), await desk.ticket_of(bob)
    assert ann_ticket is not None and bob_ticket is not None
    assert ann_ticket["id"] != bob_ticket["id"]
    assert ann_ticket["subject"] == "ann 1"
    assert await _texts(desk, ann_ticket["id"]) == ["ann 1", "ann 2", "ann 3", "ann 4"]
    assert await _texts(desk, bob_ticket["id"]) == ["bob 1", "bob 2"]


async def test_a_public_reply_goes_on_the_tickets_channel_or_a_chosen_one(desk: Desk) -> None:
    email, phone = f"{unique('p')}@example.com", f"+4915{uuid.uuid4().int % 10**8:08d}"
    form = InboundMessage(
        idempotency_key=f"test:{uuid.uuid4().hex}",
        channel=Channel.WEBFORM,
        channel_account="site",
        sender=SenderIdentity(channel_user_id=email, email=email, phone=phone),
        thread=ThreadHints(conversation_id=email),
        text="call or write",
    )
    await desk.ingest([form])
    ticket = await desk.ticket_of(email)
    assert ticket is not None
    settings = ReplySettings(email_domain="desk.test", email_account="support")

    async def outbound(request: ReplyRequest) -> OutboundMessage | None:
        async with desk.sessions() as session, session.begin():
            _, ids = await add_reply(session, ticket["id"], request, settings)
            rows = await session.execute(
                select(repo.outbox.c.topic, repo.outbox.c.payload).where(repo.outbox.c.id.in_(ids))
            )
            for topic, payload in rows:
                if topic == "outbound.messages.v1":
                    return OutboundMessage.model_validate_json(payload)
        return None

    usual = await outbound(ReplyRequest("We are on it"))
    assert usual is not None
    assert (usual.channel, usual.recipient) == (Channel.EMAIL, email)  # a web form: by mail
    chosen = await outbound(ReplyRequest("We will call you", channel=Channel.SMS))
    assert chosen is not None
    assert (chosen.channel, chosen.recipient) == (Channel.SMS, phone)
    assert await outbound(ReplyRequest("private", internal=True)) is None  # never leaves


async def test_priorities_are_listed_in_their_order_with_their_colour(api: Api) -> None:
    async def names() -> list[str]:
        page = await api.get("/api/v1/priorities", params={"limit": 200})
        return [p["name"] for p in page.json()["items"]]

    name = unique("Blocker ")
    made = await api.post(
        "/api/v1/priorities", json={"name": name, "position": 4, "colour": "#AABBCC"}
    )
    assert made.status_code == 201, made.text
    row = made.json()
    try:
        assert row["colour"].lower() == "#aabbcc"
        listed = await names()
        assert listed.index("critical") < listed.index(name)  # same rank: the older first
        moved = await api.patch(f"/api/v1/priorities/{row['id']}", json={"position": 0})
        assert moved.status_code == 200, moved.text
        assert (await names())[0] == name
        assert (
            await api.patch(f"/api/v1/priorities/{row['id']}", json={"colour": "blue"})
        ).status_code == 422
    finally:
        assert (await api.delete(f"/api/v1/priorities/{row['id']}")).status_code == 204
    assert name not in await names()


async def test_a_reply_to_a_closed_ticket_opens_a_linked_follow_up(desk: Desk) -> None:
    """Closed is final even inside the reopen window: the customer's new message opens a
    new ticket linked to the closed one, which keeps its status and reopen count."""
    sender = f"{unique('closed')}@example.com"
    await desk.ingest([webform(sender, "first problem")])
    closed = await desk.ticket_of(sender)
    assert closed is not None
    agent = Actor.agent(await desk.agent())
    await desk.change([closed["id"]], agent, status="resolved")
    await desk.change([closed["id"]], agent, status="closed")
    result = await desk.ingest([webform(sender, "thanks, one more thing")])
    assert result.reopened == 0
    follow_up = await desk.ticket_of(sender)
    assert follow_up is not None and follow_up["id"] != closed["id"]
    assert follow_up["follow_up_of_id"] == closed["id"] and follow_up["status"] == "open"
    after = await desk.ticket(closed["id"])
    assert (after["status"], after["reopen_count"]) == ("closed", 0)


async def test_company_categories_start_as_client_partner_vip_and_grow(api: Api) -> None:
    async def names() -> list[str]:
        page = await api.get("/api/v1/company-categories", params={"limit": 200})
        assert page.status_code == 200, page.text
        return [c["name"] for c in page.json()["items"]]

    assert {"Client", "Partner", "VIP"} <= set(await names())
    name = unique("Supplier ")
    made = await api.post("/api/v1/company-categories", json={"name": name})
    assert made.status_code == 201, made.text
    assert name in await names()
    twin = await api.post("/api/v1/company-categories", json={"name": name})
    assert twin.status_code == 409
    company = await api.post("/api/v1/companies", json={"name": unique("Co "), "category": name})
    assert company.status_code == 201 and company.json()["category"] == name
