"""Replies, delivery states, bounces and sender checks in ticket-core, on PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from helpdesk_common.records import (
    BounceInfo,
    Channel,
    DeliveryEvent,
    DeliveryState,
    InboundMessage,
    OutboundMessage,
    SenderIdentity,
    ThreadHints,
)
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from ticket_core import repository as repo
from ticket_core.delivery import apply_delivery_events
from ticket_core.ingest import ingest_batch
from ticket_core.replies import ReplyError, ReplyRequest, ReplySettings, add_reply, reply_subject

SETTINGS = ReplySettings(email_domain="desk.test", email_account="support")


@pytest.fixture(scope="module")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def mail(sender: str, **thread: Any) -> InboundMessage:
    message_id = thread.pop("message_id", f"<{uuid.uuid4().hex}@client.test>")
    extra = {
        k: thread.pop(k) for k in ("is_bounce", "bounce", "recipients", "subject") if k in thread
    }
    return InboundMessage(
        idempotency_key=f"email:mid:{message_id}",
        channel=Channel.EMAIL,
        channel_account="support",
        sender=SenderIdentity(channel_user_id=sender, email=sender),
        thread=ThreadHints(conversation_id=sender, message_id=message_id, **thread),
        subject=extra.pop("subject", "Printer"),
        text="body",
        **extra,
    )


async def ingest(sessions, *messages: InboundMessage) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as session, session.begin():
        await ingest_batch(session, list(messages), reopen_window=timedelta(days=7))


async def reply(sessions, ticket_id: int, request: ReplyRequest):  # type: ignore[no-untyped-def]
    async with sessions() as session, session.begin():
        row, outbox_ids = await add_reply(session, ticket_id, request, SETTINGS)
        rows = await session.execute(
            select(repo.outbox.c.topic, repo.outbox.c.payload).where(
                repo.outbox.c.id.in_(outbox_ids)
            )
        )
        return row, {topic: payload for topic, payload in rows}


async def ticket_of(sessions, message_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        found = await repo.ticket_by_message_ids(session, [message_id])
    assert found is not None
    return found


async def message(sessions, message_id: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        row = (
            (await session.execute(select(repo.messages).where(repo.messages.c.id == message_id)))
            .mappings()
            .one()
        )
    return dict(row)


def address(domain: str = "corp-example.com") -> str:
    return f"{uuid.uuid4().hex[:8]}@{domain}"


def test_reply_subject_strips_prefixes_and_old_tokens() -> None:
    assert reply_subject("RE: AW: Printer [#1002]", 1002) == "Re: Printer [#1002]"
    assert reply_subject("Ответ: Принтер", 7) == "Re: Принтер [#7]"
    assert reply_subject("", 7) == "Re: Your request [#7]"


async def test_email_reply_threads_and_the_customer_answer_comes_back(sessions) -> None:  # type: ignore[no-untyped-def]
    customer = address()
    first = mail(customer)
    await ingest(sessions, first)
    ticket = await ticket_of(sessions, first.thread.message_id or "")

    row, outbox = await reply(sessions, ticket["id"], ReplyRequest("We are on it"))
    outbound = OutboundMessage.model_validate_json(outbox["outbound.messages.v1"])
    assert outbound.recipient == customer and outbound.channel is Channel.EMAIL
    assert outbound.subject == f"Re: Printer [#{ticket['number']}]"
    assert outbound.in_reply_to == first.thread.message_id
    assert outbound.references == (first.thread.message_id,)
    assert outbound.email_message_id and outbound.email_message_id.endswith("@desk.test>")
    assert outbound.message_id == row["id"]
    stored = await message(sessions, row["id"])
    assert stored["external_message_id"] == outbound.email_message_id
    assert stored["delivery_state"] == "queued" and stored["kind"] == "public_reply"

    answer = mail(
        customer, in_reply_to=outbound.email_message_id, references=(outbound.email_message_id,)
    )
    await ingest(sessions, answer)
    assert (await ticket_of(sessions, answer.thread.message_id or ""))["id"] == ticket["id"]


async def test_web_form_ticket_is_answered_by_email_and_notes_stay_inside(sessions) -> None:  # type: ignore[no-untyped-def]
    customer = address()
    form = InboundMessage(
        idempotency_key=f"webform:t:{uuid.uuid4().hex}",
        channel=Channel.WEBFORM,
        channel_account="site",
        sender=SenderIdentity(channel_user_id=customer, email=customer),
        thread=ThreadHints(conversation_id=customer),
        text="help",
    )
    await ingest(sessions, form)
    async with sessions() as session:
        ticket_id = await session.scalar(
            select(repo.messages.c.ticket_id).where(
                repo.messages.c.idempotency_key == form.idempotency_key
            )
        )
    _, outbox = await reply(sessions, ticket_id, ReplyRequest("Answer"))
    outbound = OutboundMessage.model_validate_json(outbox["outbound.messages.v1"])
    assert (outbound.channel, outbound.channel_account, outbound.recipient) == (
        Channel.EMAIL,
        "support",
        customer,
    )

    note, outbox = await reply(sessions, ticket_id, ReplyRequest("internal only", internal=True))
    assert "outbound.messages.v1" not in outbox and "ticket.events.v1" in outbox
    assert (await message(sessions, note["id"]))["kind"] == "internal_note"


async def test_reply_to_unreachable_contact_is_refused(sessions) -> None:  # type: ignore[no-untyped-def]
    phone_only = InboundMessage(
        idempotency_key=f"webform:t:{uuid.uuid4().hex}",
        channel=Channel.WEBFORM,
        channel_account="site",
        sender=SenderIdentity(channel_user_id="+4915100000000", phone="+4915100000000"),
        text="call me",
    )
    await ingest(sessions, phone_only)
    async with sessions() as session:
        ticket_id = await session.scalar(
            select(repo.messages.c.ticket_id).where(
                repo.messages.c.idempotency_key == phone_only.idempotency_key
            )
        )
    with pytest.raises(ReplyError, match="no email"):
        await reply(sessions, ticket_id, ReplyRequest("hello"))


async def test_delivery_state_only_moves_forward(sessions) -> None:  # type: ignore[no-untyped-def]
    first = mail(address())
    await ingest(sessions, first)
    ticket = await ticket_of(sessions, first.thread.message_id or "")
    row, _ = await reply(sessions, ticket["id"], ReplyRequest("x"))

    def event(state: DeliveryState, reason: str | None = None) -> DeliveryEvent:
        return DeliveryEvent(outbound_id=row["outbound_id"], state=state, reason=reason)

    async with sessions() as session, session.begin():
        changed = await apply_delivery_events(
            session,
            [event(DeliveryState.SENT), event(DeliveryState.DELIVERED), event(DeliveryState.SENT)],
        )
    assert changed == 2
    assert (await message(sessions, row["id"]))["delivery_state"] == "delivered"
    async with sessions() as session, session.begin():
        await apply_delivery_events(
            session, [event(DeliveryState.FAILED, "550 no such user"), event(DeliveryState.READ)]
        )
    stored = await message(sessions, row["id"])
    assert (stored["delivery_state"], stored["delivery_reason"]) == ("failed", "550 no such user")


async def test_bounce_marks_delivery_failed_and_never_reopens(sessions) -> None:  # type: ignore[no-untyped-def]
    customer = address()
    first = mail(customer)
    await ingest(sessions, first)
    ticket = await ticket_of(sessions, first.thread.message_id or "")
    row, outbox = await reply(sessions, ticket["id"], ReplyRequest("Solved?"))
    ours = OutboundMessage.model_validate_json(outbox["outbound.messages.v1"]).email_message_id
    async with sessions() as session, session.begin():
        await session.execute(
            update(repo.tickets).where(repo.tickets.c.id == ticket["id"]).values(status="resolved")
        )

    bounce = mail(
        "mailer-daemon@mx.test",
        is_bounce=True,
        bounce=BounceInfo(original_message_id=ours, recipient=customer, status="5.1.1"),
    )
    await ingest(sessions, bounce)
    stored = await message(sessions, row["id"])
    assert stored["delivery_state"] == "failed" and "5.1.1" in stored["delivery_reason"]
    async with sessions() as session:
        status = await session.scalar(
            select(repo.tickets.c.status).where(repo.tickets.c.id == ticket["id"])
        )
        kinds = (
            (
                await session.execute(
                    text("SELECT kind FROM messages WHERE ticket_id = :t ORDER BY id"),
                    {"t": ticket["id"]},
                )
            )
            .scalars()
            .all()
        )
    assert status == "resolved"
    assert kinds == ["customer", "public_reply", "system"]


async def test_token_from_a_stranger_opens_a_flagged_ticket_but_colleagues_join(sessions) -> None:  # type: ignore[no-untyped-def]
    customer = address("acme-corp.test")
    first = mail(customer, recipients=(f"boss-{customer}",))
    await ingest(sessions, first)
    ticket = await ticket_of(sessions, first.thread.message_id or "")

    stranger = mail(
        address("gmail.com"),
        ticket_number=ticket["number"],
        subject=f"Re: Printer [#{ticket['number']}]",
    )
    colleague = mail(address("acme-corp.test"), ticket_number=ticket["number"])
    cc_person = mail(f"boss-{customer}", in_reply_to=first.thread.message_id)
    await ingest(sessions, stranger, colleague, cc_person)

    stranger_ticket = await ticket_of(sessions, stranger.thread.message_id or "")
    assert stranger_ticket["id"] != ticket["id"]
    assert stranger_ticket["possible_duplicate_of_id"] == ticket["id"]
    assert (await ticket_of(sessions, colleague.thread.message_id or ""))["id"] == ticket["id"]
    assert (await ticket_of(sessions, cc_person.thread.message_id or ""))["id"] == ticket["id"]


def chat_message(channel: Channel, user: str, chat: str) -> InboundMessage:
    return InboundMessage(
        idempotency_key=f"{channel.value}:t:{uuid.uuid4().hex}",
        channel=channel,
        channel_account="bot",
        sender=SenderIdentity(channel_user_id=user),
        thread=ThreadHints(conversation_id=chat),
        text="hello",
    )


async def ticket_id_of(sessions, message: InboundMessage) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return int(
            await session.scalar(
                select(repo.messages.c.ticket_id).where(
                    repo.messages.c.idempotency_key == message.idempotency_key
                )
            )
        )


async def test_group_chat_tickets_are_answered_in_the_group(sessions) -> None:  # type: ignore[no-untyped-def]
    group = chat_message(Channel.TELEGRAM, "5551", f"-100{uuid.uuid4().int % 10**9}")
    await ingest(sessions, group)
    _, outbox = await reply(sessions, await ticket_id_of(sessions, group), ReplyRequest("hi all"))
    outbound = OutboundMessage.model_validate_json(outbox["outbound.messages.v1"])
    assert outbound.recipient == group.thread.conversation_id
    assert (outbound.channel, outbound.channel_account) == (Channel.TELEGRAM, "bot")


async def test_messenger_ids_keep_their_case(sessions) -> None:  # type: ignore[no-untyped-def]
    user = f"AbC{uuid.uuid4().hex[:6]}=="
    first = chat_message(Channel.VIBER, user, user)
    second = chat_message(Channel.VIBER, user.lower(), user.lower())  # a different Viber user
    await ingest(sessions, first, second)
    assert await ticket_id_of(sessions, first) != await ticket_id_of(sessions, second)
    _, outbox = await reply(sessions, await ticket_id_of(sessions, first), ReplyRequest("hi"))
    assert OutboundMessage.model_validate_json(outbox["outbound.messages.v1"]).recipient == user
