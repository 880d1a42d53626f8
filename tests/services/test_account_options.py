"""Per-channel-account options at ingestion, against the real PostgreSQL, in-process.

The options live in ``channel_accounts.config``: the account's reopen window replaces the
global one, a new ticket nothing assigned gets the account's default group (a deleted
group is ignored), an unknown sender of an account that creates no contacts gets a
ticket without a contact whose replies still reach them. Mail from an active agent's
address that threads into a ticket is that agent's public comment.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpdesk_common.account_options import AccountOptions
from helpdesk_common.records import (
    Channel,
    InboundMessage,
    OutboundMessage,
    SenderIdentity,
    ThreadHints,
)
from helpdesk_common.topics import OUTBOUND_MESSAGES
from sqlalchemy import delete, select, text, update
from ticket_core import crud
from ticket_core import repository as repo
from ticket_core.channel_accounts import InvalidAccount, check_account
from ticket_core.channel_accounts import table as accounts
from ticket_core.models_org import agents, groups
from ticket_core.replies import ReplyRequest, ReplySettings, add_reply

from .conftest import Desk, unique

DEFAULT_WINDOW = timedelta(days=7)


async def account(desk: Desk, channel: str = "email", **config: Any) -> str:
    """An account row carrying the options (ingestion never reads its secrets)."""
    name = f"acct{uuid.uuid4().hex[:10]}"
    async with desk.sessions() as session, session.begin():
        await session.execute(
            accounts.insert().values(
                channel=channel, name=name, config=config, secrets_encrypted="unused"
            )
        )
    return name


def mail(
    account_name: str, sender: str, *, in_reply_to: str | None = None, **kw: Any
) -> InboundMessage:
    message_id = f"<{uuid.uuid4().hex}@client.test>"
    return InboundMessage(
        idempotency_key=f"email:{message_id}",
        channel=Channel.EMAIL,
        channel_account=account_name,
        sender=SenderIdentity(channel_user_id=sender, email=sender, display_name="Sender"),
        thread=ThreadHints(conversation_id=sender, message_id=message_id, in_reply_to=in_reply_to),
        subject="Printer",
        text="It jams.",
        **kw,
    )


async def tickets_of_account(desk: Desk, name: str) -> list[dict[str, Any]]:
    async with desk.sessions() as session:
        rows = await session.execute(
            select(repo.tickets).where(repo.tickets.c.channel_account == name).order_by("id")
        )
    return [dict(r) for r in rows.mappings()]


async def messages_of(desk: Desk, ticket_id: int) -> list[dict[str, Any]]:
    async with desk.sessions() as session:
        rows = await session.execute(
            select(repo.messages).where(repo.messages.c.ticket_id == ticket_id).order_by("id")
        )
    return [dict(r) for r in rows.mappings()]


async def resolve(desk: Desk, ticket_id: int, ago: timedelta) -> None:
    async with desk.sessions() as session, session.begin():
        await session.execute(
            update(repo.tickets)
            .where(repo.tickets.c.id == ticket_id)
            .values(status="resolved", resolved_at=datetime.now(UTC) - ago)
        )


async def contacts_with_email(desk: Desk, email: str) -> int:
    async with desk.sessions() as session:
        return int(
            await session.scalar(
                text("SELECT count(*) FROM contact_identities WHERE kind = 'email' AND value = :e"),
                {"e": email},
            )
            or 0
        )


# -- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ({"reopen_window_days": -1}, "reopen_window_days"),
        ({"reopen_window_days": "7"}, "reopen_window_days"),
        ({"reopen_window_days": True}, "reopen_window_days"),
        ({"reopen_window_days": float("nan")}, "reopen_window_days"),
        ({"reopen_window_days": 1e9}, "reopen_window_days"),
        ({"default_group_id": "5"}, "default_group_id"),
        ({"default_group_id": 0}, "default_group_id"),
        ({"create_unknown_contacts": "no"}, "create_unknown_contacts"),
    ],
)
def test_bad_option_values_are_refused_on_every_channel(
    config: dict[str, Any], reason: str
) -> None:
    for channel, secrets in (
        (Channel.TELEGRAM, {"token": "t"}),
        (Channel.VIBER, {"token": "t"}),
    ):
        with pytest.raises(InvalidAccount, match=reason):
            check_account(channel, "bot", secrets, config)


def test_email_accounts_take_the_options_beside_their_imap_settings() -> None:
    imap = {"host": "imap.example.com", "login": "support@example.com"}
    options = {
        "reopen_window_days": 0.5,
        "default_group_id": None,
        "create_unknown_contacts": False,
    }
    check_account(Channel.EMAIL, "support", {"password": "p"}, {**imap, **options})
    with pytest.raises(InvalidAccount, match="create_unknown_contacts"):
        check_account(
            Channel.EMAIL, "support", {"password": "p"}, {**imap, "create_unknown_contacts": 1}
        )
    with pytest.raises(InvalidAccount, match="unknown setting"):  # IMAP settings stay strict
        check_account(Channel.EMAIL, "support", {"password": "p"}, {**imap, "reopen_days": 1})


# -- reopen window ----------------------------------------------------------------------


async def test_the_accounts_reopen_window_replaces_the_global_one(desk: Desk) -> None:
    short = await account(desk, reopen_window_days=1)
    default = await account(desk)  # a row without options: the global window
    for name, expect_new in ((short, True), (default, False)):
        sender = f"{unique('c')}@client.test"
        first = mail(name, sender)
        await desk.ingest([first], window=DEFAULT_WINDOW)
        (ticket,) = await tickets_of_account(desk, name)
        await resolve(desk, ticket["id"], timedelta(days=2))
        await desk.ingest(
            [mail(name, sender, in_reply_to=first.thread.message_id)], window=DEFAULT_WINDOW
        )
        found = await tickets_of_account(desk, name)
        if expect_new:  # 2 days > 1 day: a new ticket linked to the old one
            assert [t["status"] for t in found] == ["resolved", "open"]
            assert found[1]["follow_up_of_id"] == ticket["id"]
        else:  # 2 days < 7 days: reopened
            assert [t["status"] for t in found] == ["open"]
            assert found[0]["reopen_count"] == 1


async def test_inside_a_short_window_the_ticket_reopens(desk: Desk) -> None:
    name = await account(desk, reopen_window_days=1)
    sender = f"{unique('c')}@client.test"
    first = mail(name, sender)
    await desk.ingest([first])
    (ticket,) = await tickets_of_account(desk, name)
    await resolve(desk, ticket["id"], timedelta(hours=2))
    await desk.ingest([mail(name, sender, in_reply_to=first.thread.message_id)])
    (after,) = await tickets_of_account(desk, name)
    assert after["status"] == "open" and after["reopen_count"] == 1


# -- default group ------------------------------------------------------------------------


def telegram(account_name: str) -> InboundMessage:
    return InboundMessage(
        idempotency_key=f"telegram:{uuid.uuid4().hex}",
        channel=Channel.TELEGRAM,
        channel_account=account_name,
        sender=SenderIdentity(channel_user_id=unique("u")),
        text="hello",
    )


async def test_new_tickets_get_the_accounts_default_group_unless_it_was_deleted(desk: Desk) -> None:
    group, gone = await desk.group(), await desk.group()
    name = await account(desk, "telegram", default_group_id=group)
    stale = await account(desk, "telegram", default_group_id=gone)
    async with desk.sessions() as session, session.begin():
        await session.execute(delete(groups).where(groups.c.id == gone))
    # One batch: the stale id is ignored (no failed batch), the other account's applies.
    await desk.ingest([telegram(name), telegram(stale)])
    (ticket,) = await tickets_of_account(desk, name)
    assert ticket["responsible_group_id"] == group and ticket["responsible_agent_id"] is None
    (other,) = await tickets_of_account(desk, stale)
    assert other["responsible_group_id"] is None


# -- unknown senders ------------------------------------------------------------------------


async def test_an_unknown_sender_without_contact_creation_gets_a_ticket_and_our_reply(
    desk: Desk,
) -> None:
    name = await account(desk, create_unknown_contacts=False)
    stranger = f"{unique('s')}@stranger.test"
    first = mail(name, stranger)
    await desk.ingest([first])
    (ticket,) = await tickets_of_account(desk, name)
    assert ticket["contact_id"] is None
    (message,) = await messages_of(desk, ticket["id"])
    assert message["author_contact_id"] is None and message["kind"] == "customer"
    assert message["fields"]["sender.email"] == stranger
    assert await contacts_with_email(desk, stranger) == 0

    # Our reply goes to the sender kept on the message.
    async with desk.sessions() as session, session.begin():
        row, outbox_ids = await add_reply(
            session,
            ticket["id"],
            ReplyRequest("We are on it."),
            ReplySettings("helpdesk.test", "support"),
        )
        payloads = (
            await session.execute(
                select(repo.outbox.c.topic, repo.outbox.c.payload).where(
                    repo.outbox.c.id.in_(outbox_ids)
                )
            )
        ).all()
    (outbound,) = [
        OutboundMessage.model_validate_json(p) for t, p in payloads if t == OUTBOUND_MESSAGES.name
    ]
    assert outbound.recipient == stranger

    # The stranger's answer to our reply joins the same ticket (an address on its thread).
    await desk.ingest([mail(name, stranger, in_reply_to=row["external_message_id"])])
    (same,) = await tickets_of_account(desk, name)
    assert len(await messages_of(desk, same["id"])) == 3
    assert await contacts_with_email(desk, stranger) == 0


async def test_a_known_contact_is_still_recognised_without_contact_creation(desk: Desk) -> None:
    known = f"{unique('k')}@client.test"
    await desk.ingest([mail(await account(desk), known)])  # the contact exists from before
    name = await account(desk, create_unknown_contacts=False)
    await desk.ingest([mail(name, known)])
    (ticket,) = await tickets_of_account(desk, name)
    assert ticket["contact_id"] is not None
    assert (await desk.ticket_of(known) or {}).get("id") == ticket["id"]


# -- agents' own mail ------------------------------------------------------------------------


async def agent_with_email(desk: Desk, active: bool = True) -> tuple[int, str]:
    email = f"{unique('agent')}@desk.test"
    async with desk.sessions() as session, session.begin():
        row = await crud.create(
            session, agents, {"name": unique("Agent "), "email": email, "active": active}
        )
    return int(row["id"]), email


async def test_an_agents_mail_in_a_thread_is_their_comment_not_a_customer_reply(
    desk: Desk,
) -> None:
    agent_id, agent_email = await agent_with_email(desk)
    name = await account(desk)
    customer = f"{unique('c')}@client.test"
    first = mail(name, customer)
    await desk.ingest([first])
    (ticket,) = await tickets_of_account(desk, name)
    await resolve(desk, ticket["id"], timedelta(hours=1))
    before = await desk.ticket(ticket["id"])

    result = await desk.ingest(
        [mail(name, agent_email.upper(), in_reply_to=first.thread.message_id)]
    )
    (after,) = await tickets_of_account(desk, name)
    assert after["status"] == "resolved" and after["reopen_count"] == 0
    assert after["last_customer_message_at"] == before["last_customer_message_at"]
    assert after["first_response_at"] is not None
    comment = (await messages_of(desk, ticket["id"]))[-1]
    assert comment["kind"] == "public_reply" and comment["author_contact_id"] is None
    assert comment["author_agent_id"] == agent_id
    assert await contacts_with_email(desk, agent_email) == 0
    (added,) = result.events
    assert added.actor_agent_id == agent_id and added.kind == "message.added"


async def test_mail_from_a_deactivated_agent_is_a_customers(desk: Desk) -> None:
    _, former = await agent_with_email(desk, active=False)
    name = await account(desk)
    customer = f"{unique('c')}@client.test"
    first = mail(name, customer)
    await desk.ingest([first])
    await desk.ingest([mail(name, former, in_reply_to=first.thread.message_id)])
    found = await tickets_of_account(desk, name)
    # A stranger's reference: a new ticket flagged as a possible duplicate.
    assert len(found) == 2 and found[1]["possible_duplicate_of_id"] == found[0]["id"]
    assert (await messages_of(desk, found[1]["id"]))[0]["kind"] == "customer"


async def test_an_agents_mail_outside_any_thread_opens_a_ticket_without_a_contact(
    desk: Desk,
) -> None:
    _, agent_email = await agent_with_email(desk)
    name = await account(desk)
    await desk.ingest([mail(name, agent_email)])
    (ticket,) = await tickets_of_account(desk, name)
    assert ticket["contact_id"] is None
    assert await contacts_with_email(desk, agent_email) == 0
    (message,) = await messages_of(desk, ticket["id"])
    assert message["fields"]["sender.email"] == agent_email


def test_options_written_before_the_check_fall_back_to_their_defaults() -> None:
    stored = {"reopen_window_days": "x", "default_group_id": True, "create_unknown_contacts": 0}
    assert AccountOptions.from_config(stored, DEFAULT_WINDOW) == AccountOptions(DEFAULT_WINDOW)
    good = {"reopen_window_days": 0, "default_group_id": 3, "create_unknown_contacts": False}
    assert AccountOptions.from_config(good, DEFAULT_WINDOW) == AccountOptions(
        timedelta(0), 3, False
    )
