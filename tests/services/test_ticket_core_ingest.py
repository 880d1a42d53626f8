"""ticket-core's ingestion against the real PostgreSQL: threading, dedupe, reopen rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from helpdesk_common.records import (
    AttachmentRef,
    BlobRef,
    Channel,
    InboundMessage,
    SenderIdentity,
    ThreadHints,
    TicketEventKind,
)
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from ticket_core import repository as repo
from ticket_core.ingest import ingest_batch

WINDOW = timedelta(days=7)


@pytest.fixture(scope="module")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def webform(email: str, text_: str = "hello", **kw: object) -> InboundMessage:
    return InboundMessage(
        idempotency_key=f"test:{uuid.uuid4().hex}",
        channel=Channel.WEBFORM,
        channel_account="default",
        sender=SenderIdentity(channel_user_id=email, email=email, display_name="Ann"),
        thread=ThreadHints(conversation_id=email),
        text=text_,
        **kw,  # type: ignore[arg-type]
    )


def email_msg(address: str, message_id: str, **thread: object) -> InboundMessage:
    return InboundMessage(
        idempotency_key=f"email:{message_id}",
        channel=Channel.EMAIL,
        channel_account="support",
        sender=SenderIdentity(channel_user_id=address, email=address),
        thread=ThreadHints(conversation_id=address, message_id=message_id, **thread),  # type: ignore[arg-type]
        subject="Printer",
        text="body",
    )


async def store(
    sessions: async_sessionmaker[AsyncSession],
    *messages: InboundMessage,
    now: datetime | None = None,
):  # type: ignore[no-untyped-def]
    async with sessions() as session, session.begin():
        return await ingest_batch(session, list(messages), reopen_window=WINDOW, now=now)


async def tickets_of(
    sessions: async_sessionmaker[AsyncSession], email: str
) -> list[dict[str, object]]:
    async with sessions() as session:
        rows = await session.execute(
            select(repo.tickets)
            .join(repo.contacts, repo.contacts.c.id == repo.tickets.c.contact_id)
            .where(repo.contacts.c.email == email)
            .order_by(repo.tickets.c.id)
        )
        return [dict(r) for r in rows.mappings()]


async def message_count(sessions: async_sessionmaker[AsyncSession], ticket_id: object) -> int:
    async with sessions() as session:
        return int(
            await session.scalar(
                text("SELECT count(*) FROM messages WHERE ticket_id = :t"), {"t": ticket_id}
            )
            or 0
        )


def unique_email() -> str:
    return f"{uuid.uuid4().hex[:10]}@example.com"


async def test_new_sender_gets_contact_ticket_and_message(sessions) -> None:  # type: ignore[no-untyped-def]
    address = unique_email()
    result = await store(sessions, webform(address, "Printer broken\nsecond line"))
    tickets = await tickets_of(sessions, address)
    assert len(tickets) == 1
    assert tickets[0]["subject"] == "Printer broken"
    assert tickets[0]["status"] == "open"
    assert await message_count(sessions, tickets[0]["id"]) == 1
    assert [e.kind for e in result.events] == [
        TicketEventKind.TICKET_CREATED,
        TicketEventKind.MESSAGE_ADDED,
    ]
    assert len(result.outbox_ids) == 1  # the batch's events: one outbox row, one per line


async def test_follow_up_from_same_conversation_joins_open_ticket(sessions) -> None:  # type: ignore[no-untyped-def]
    address = unique_email()
    await store(sessions, webform(address, "first"))
    await store(sessions, webform(address, "second"))
    tickets = await tickets_of(sessions, address)
    assert len(tickets) == 1
    assert await message_count(sessions, tickets[0]["id"]) == 2


async def test_duplicate_idempotency_key_is_stored_once_within_and_across_batches(sessions) -> None:  # type: ignore[no-untyped-def]
    address = unique_email()
    message = webform(address)
    first = await store(sessions, message, message)
    second = await store(sessions, message)
    tickets = await tickets_of(sessions, address)
    assert await message_count(sessions, tickets[0]["id"]) == 1
    assert (first.duplicates, second.duplicates) == (1, 1)
    assert second.events == []


async def test_email_threads_by_references_not_by_address(sessions) -> None:  # type: ignore[no-untyped-def]
    address = unique_email()
    await store(sessions, email_msg(address, "<a@x>"))
    await store(sessions, email_msg(address, "<b@x>", in_reply_to="<a@x>"))
    await store(sessions, email_msg(address, "<c@x>"))  # a fresh mail: a new request
    tickets = await tickets_of(sessions, address)
    assert len(tickets) == 2
    assert await message_count(sessions, tickets[0]["id"]) == 2


async def test_a_reference_stored_on_two_tickets_threads_into_the_latest(sessions) -> None:  # type: ignore[no-untyped-def]
    """One Message-ID on two tickets (a mail to two of the desk's mailboxes): a reply to it
    joins the ticket of the latest stored message with that id."""
    first, second, ref = unique_email(), unique_email(), f"<{uuid.uuid4().hex}@x>"
    await store(sessions, email_msg(first, ref))
    again = email_msg(second, ref).model_copy(update={"idempotency_key": f"email:sales:{ref}"})
    await store(sessions, again)
    reply = email_msg(second, f"<{uuid.uuid4().hex}@x>", in_reply_to=ref)
    await store(sessions, reply)
    [older] = await tickets_of(sessions, first)
    [latest] = await tickets_of(sessions, second)
    assert await message_count(sessions, latest["id"]) == 2
    assert await message_count(sessions, older["id"]) == 1


async def test_subject_ticket_number_wins(sessions) -> None:  # type: ignore[no-untyped-def]
    address = unique_email()
    await store(sessions, email_msg(address, "<n1@x>"))
    ticket = (await tickets_of(sessions, address))[0]
    await store(sessions, email_msg(address, "<n2@x>", ticket_number=ticket["number"]))
    assert len(await tickets_of(sessions, address)) == 1
    assert await message_count(sessions, ticket["id"]) == 2


async def _set_status(
    sessions, ticket_id: object, status: str, resolved_at: datetime | None = None
) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as session, session.begin():
        await session.execute(
            update(repo.tickets)
            .where(repo.tickets.c.id == ticket_id)
            .values(status=status, resolved_at=resolved_at)
        )


async def test_resolved_ticket_reopens_inside_window_and_links_a_new_one_after(sessions) -> None:  # type: ignore[no-untyped-def]
    address = unique_email()
    now = datetime.now(UTC)
    await store(sessions, webform(address))
    ticket = (await tickets_of(sessions, address))[0]

    await _set_status(sessions, ticket["id"], "resolved", now - timedelta(days=1))
    result = await store(sessions, webform(address, "still broken"), now=now)
    assert (await tickets_of(sessions, address))[0]["status"] == "open"
    assert result.reopened == 1
    assert TicketEventKind.STATUS_CHANGED in [e.kind for e in result.events]

    await _set_status(sessions, ticket["id"], "resolved", now - timedelta(days=8))
    await store(sessions, webform(address, "new problem"), now=now)
    tickets = await tickets_of(sessions, address)
    assert len(tickets) == 2
    assert tickets[0]["status"] == "resolved"
    assert tickets[1]["follow_up_of_id"] == ticket["id"]


async def test_closed_is_final_and_auto_replies_never_reopen(sessions) -> None:  # type: ignore[no-untyped-def]
    address = unique_email()
    await store(sessions, webform(address))
    ticket = (await tickets_of(sessions, address))[0]
    await _set_status(sessions, ticket["id"], "resolved", datetime.now(UTC))
    await store(sessions, webform(address, "I am out of office", auto_submitted=True))
    assert [t["status"] for t in await tickets_of(sessions, address)] == ["resolved"]

    await _set_status(sessions, ticket["id"], "closed")
    await store(sessions, webform(address, "one more thing"))
    tickets = await tickets_of(sessions, address)
    assert [t["status"] for t in tickets] == ["closed", "open"]


async def test_customer_reply_sets_pending_ticket_open(sessions) -> None:  # type: ignore[no-untyped-def]
    address = unique_email()
    await store(sessions, webform(address))
    ticket = (await tickets_of(sessions, address))[0]
    await _set_status(sessions, ticket["id"], "pending")
    await store(sessions, webform(address, "here is the info"))
    assert (await tickets_of(sessions, address))[0]["status"] == "open"


async def test_same_email_on_two_channels_is_one_contact(sessions) -> None:  # type: ignore[no-untyped-def]
    address = unique_email()
    await store(sessions, webform(address))
    await store(sessions, email_msg(address, f"<{uuid.uuid4().hex}@x>"))
    async with sessions() as session:
        contacts = await session.scalar(
            text("SELECT count(DISTINCT contact_id) FROM contact_identities WHERE value = :v"),
            {"v": address},
        )
    assert contacts == 1


async def test_stored_row_keeps_json_columns_and_null_and_default_values(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The lean executemany INSERT (repository.insert_rows) stores what the record says:
    JSONB lists and maps as JSON, absent values as SQL NULL, defaults filled in."""
    blob = BlobRef(sha256="a" * 64, size=3, content_type="text/plain")
    message = webform(
        f"json-{uuid.uuid4().hex[:8]}@example.com",
        "with a file",
        attachments=(AttachmentRef(filename="a.txt", size=3, blob=blob),),
        fields={"topic": "billing", "quote": 'say "hi"'},
        recipients=("cc@example.com",),
    )
    await store(sessions, message)
    async with sessions() as session:
        row = (
            await session.execute(
                text(
                    "SELECT attachments, fields, recipients, html, full_text, is_bounce,"
                    " jsonb_typeof(attachments) AS kind, t.custom_attributes, t.tags"
                    " FROM messages m JOIN tickets t ON t.id = m.ticket_id"
                    " WHERE m.idempotency_key = :k"
                ),
                {"k": message.idempotency_key},
            )
        ).one()
    assert row.kind == "array"
    assert row.attachments[0]["filename"] == "a.txt"
    assert row.attachments[0]["blob"]["sha256"] == "a" * 64
    assert row.fields == {"topic": "billing", "quote": 'say "hi"'}
    assert row.recipients == ["cc@example.com"]
    assert row.html is None and row.full_text is None
    assert row.is_bounce is False
    assert row.custom_attributes == {} and row.tags == []
