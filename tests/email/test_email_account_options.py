"""Channel account options through the running services and the real mail servers.

- An environment-configured mailbox maps onto the channel account of its name: a
  (disabled, so never polled twice) account of that name with a one-day reopen window
  makes an answer to a ticket resolved two days ago a new linked ticket, while an answer
  to one resolved an hour ago reopens it (the global window is seven days).
- Mail from an active agent's own address, answering in a ticket's thread, is that
  agent's public comment: the resolved ticket stays resolved, no contact is made.
- An account with ``create_unknown_contacts`` false turns a stranger's mail into a
  ticket without a contact; the agent's reply reaches the stranger at the SMTP sink
  and the stranger's answer joins the same ticket.
- Bad option values are refused with 422 and the reason.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from devstack.probes import eventually
from devstack.processes import Child, free_port
from devstack.services import BY_NAME, service_child, wait_ready
from devstack.stack import Stack
from devstack.test_system import MailSink
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import OUR_ADDRESS, PASSWORD, USER, Dovecot, Imap
from .test_email_conversation import customer_mail, messages_of, tickets_for

pytestmark = pytest.mark.e2e
TIMEOUT = 30.0
ACCOUNTS = "/api/v1/channel-accounts"


def imap_config(dovecot: Dovecot, folder: str) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": dovecot.imap_port,
        "security": "none",
        "login": USER,
        "folder": folder,
        "own_addresses": [OUR_ADDRESS],
        "poll_interval_seconds": 0.3,
        "idle_timeout_seconds": 30,
    }


@pytest.fixture
async def accounts(tickets_api: httpx.AsyncClient) -> AsyncIterator[list[str]]:
    """Names of email accounts a test created; deleted at the end."""
    made: list[str] = []
    yield made
    for name in made:
        await tickets_api.delete(f"{ACCOUNTS}/email/{name}")


@pytest.fixture
def make_account(
    dovecot: Dovecot, imap: Imap, tickets_api: httpx.AsyncClient, accounts: list[str]
) -> Callable[..., Any]:
    """An email account on a fresh folder with the given options; returns (name, folder)."""

    async def make(
        enabled: bool = True, name: str | None = None, **options: Any
    ) -> tuple[str, str]:
        name = name or f"o{uuid.uuid4().hex[:8]}"
        folder = f"F{name}"
        if enabled:
            imap.create(folder)
        response = await tickets_api.post(
            ACCOUNTS,
            json={
                "channel": "email",
                "name": name,
                "enabled": enabled,
                "config": {**imap_config(dovecot, folder), **options},
                "secrets": {"password": PASSWORD},
            },
        )
        assert response.status_code == 201, response.text
        accounts.append(name)
        return name, folder

    return make


@pytest.fixture
async def env_mailbox(running: Stack, make_mailbox: Callable[..., Any]) -> AsyncIterator[Any]:
    """A mailbox from the environment of an email-ingest process of its own."""
    assert running.infra is not None
    box = make_mailbox(idle_timeout_seconds=30.0)
    env = {
        "EMAIL_INGEST_MAILBOXES": json.dumps(
            [{**box.model_dump(mode="json"), "password": PASSWORD}]
        ),
        "EMAIL_INGEST_REDIS_PREFIX": f"opt-{box.name}",
        "EMAIL_INGEST_LEASE_TTL_SECONDS": "5",
    }
    port = free_port()
    child: Child = service_child(BY_NAME["email-ingest"], running.infra, port, running.log_dir, env)
    child.start()
    try:
        await asyncio.to_thread(wait_ready, [(child, port)], 60.0)
        yield box
    finally:
        await asyncio.to_thread(child.stop)


async def resolve_ago(engine: AsyncEngine, ticket_id: int, ago: timedelta) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE tickets SET status = 'resolved', resolved_at = :at WHERE id = :t"),
            {"t": ticket_id, "at": datetime.now(UTC) - ago},
        )


async def tickets_of_account(engine: AsyncEngine, account: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT * FROM tickets WHERE channel_account = :a ORDER BY id"), {"a": account}
        )
        return [dict(r) for r in rows.mappings()]


async def identities_of(engine: AsyncEngine, email: str) -> int:
    async with engine.connect() as conn:
        found = await conn.scalar(
            text("SELECT count(*) FROM contact_identities WHERE kind = 'email' AND value = :e"),
            {"e": email},
        )
        return int(found or 0)


def message_id_of(raw: bytes) -> str:
    for line in raw.decode().splitlines():
        if line.lower().startswith("message-id:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("no Message-ID")


async def test_the_accounts_reopen_window_applies_to_an_environment_mailbox(
    env_mailbox: Any,
    make_account: Callable[..., Any],
    imap: Imap,
    tickets_api: httpx.AsyncClient,
    engine: AsyncEngine,
) -> None:
    # The options of the environment mailbox's account (disabled: only the env polls it).
    await make_account(enabled=False, name=env_mailbox.account, reopen_window_days=1)
    customer = f"ben-{uuid.uuid4().hex[:8]}@client.example"
    first = customer_mail(customer, "Scanner offline", "It shows error 7.")
    imap.append(env_mailbox.folder, first)
    (old,) = await eventually(
        lambda: tickets_for(tickets_api, customer), lambda t: len(t) == 1, TIMEOUT, "ticket"
    )

    # Resolved two days ago: past the account's day (inside the global week).
    await resolve_ago(engine, old["id"], timedelta(days=2))
    late = customer_mail(
        customer, "Re: Scanner offline", "It is back.", In_Reply_To=message_id_of(first)
    )
    imap.append(env_mailbox.folder, late)
    found = await eventually(
        lambda: tickets_for(tickets_api, customer), lambda t: len(t) == 2, TIMEOUT, "follow-up"
    )
    new, old_now = found  # newest first
    assert new["follow_up_of_id"] == old["id"] and new["status"] == "open"
    assert old_now["status"] == "resolved" and old_now["reopen_count"] == 0

    # Resolved an hour ago: inside the window, the answer reopens it.
    await resolve_ago(engine, new["id"], timedelta(hours=1))
    imap.append(
        env_mailbox.folder,
        customer_mail(
            customer, "Re: Scanner offline", "Offline again.", In_Reply_To=message_id_of(late)
        ),
    )
    reopened = await eventually(
        lambda: tickets_for(tickets_api, customer),
        lambda t: t[0]["status"] == "open",
        TIMEOUT,
        "reopened",
    )
    assert len(reopened) == 2 and reopened[0]["reopen_count"] == 1


async def test_an_agents_own_mail_in_the_thread_is_their_comment(
    make_account: Callable[..., Any],
    imap: Imap,
    tickets_api: httpx.AsyncClient,
    mail_sink: MailSink,
    engine: AsyncEngine,
) -> None:
    name, folder = await make_account()
    agent_email = f"kate-{uuid.uuid4().hex[:8]}@desk.example"
    created = await tickets_api.post(
        "/api/v1/agents", json={"name": f"Kate {agent_email}", "email": agent_email}
    )
    assert created.status_code == 201, created.text
    agent_id = created.json()["id"]

    customer = f"cleo-{uuid.uuid4().hex[:8]}@client.example"
    first = customer_mail(customer, "Badge reader", "My badge is refused.")
    imap.append(folder, first)
    (ticket,) = await eventually(
        lambda: tickets_for(tickets_api, customer), lambda t: len(t) == 1, TIMEOUT, "ticket"
    )
    await resolve_ago(engine, ticket["id"], timedelta(hours=1))

    # The agent answers from her own mail client, with the support address in copy.
    answer = EmailMessage()
    answer["From"] = f"Kate <{agent_email}>"
    answer["To"] = customer
    answer["Cc"] = OUR_ADDRESS
    answer["Subject"] = "Re: Badge reader"
    answer["Message-ID"] = f"<{uuid.uuid4().hex}@desk.example>"
    answer["In-Reply-To"] = message_id_of(first)
    answer.set_content("I re-enabled your badge.")
    imap.append(folder, bytes(answer))

    messages = await eventually(
        lambda: messages_of(tickets_api, ticket["id"]), lambda m: len(m) == 2, TIMEOUT, "comment"
    )
    comment = messages[1]
    assert comment["kind"] == "public_reply" and comment["author_contact_id"] is None
    assert comment["author_agent_id"] == agent_id
    assert comment["text"].strip() == "I re-enabled your badge."
    (after,) = await tickets_for(tickets_api, customer)
    assert after["status"] == "resolved" and after["reopen_count"] == 0  # not a customer reply
    assert after["first_response_at"] is not None
    assert await identities_of(engine, agent_email) == 0  # no contact for the agent
    assert not [m for m in mail_sink.received if m["To"] == customer]  # nothing sent by us

    # Mail from our own system address is still a loop: dropped, never stored.
    own = customer_mail(OUR_ADDRESS, "Re: Badge reader", "loop", In_Reply_To=answer["Message-ID"])
    imap.append(folder, own)
    await eventually(
        lambda: asyncio.to_thread(imap.flags, folder),
        lambda f: len(f) == 3 and all("$HelpdeskProcessed" in v for v in f.values()),
        TIMEOUT,
        "loop mail marked processed",
    )
    assert len(await messages_of(tickets_api, ticket["id"])) == 2
    assert len(await tickets_of_account(engine, name)) == 1


async def test_a_stranger_on_an_account_that_creates_no_contacts_gets_a_ticket_and_replies(
    make_account: Callable[..., Any],
    imap: Imap,
    tickets_api: httpx.AsyncClient,
    mail_sink: MailSink,
    engine: AsyncEngine,
) -> None:
    name, folder = await make_account(create_unknown_contacts=False)
    stranger = f"dan-{uuid.uuid4().hex[:8]}@stranger.example"
    imap.append(folder, customer_mail(stranger, "Invoice question", "Why two invoices?"))
    (ticket,) = await eventually(
        lambda: tickets_of_account(engine, name), lambda t: len(t) == 1, TIMEOUT, "ticket"
    )
    assert ticket["contact_id"] is None
    (first,) = await messages_of(tickets_api, ticket["id"])
    assert first["author_contact_id"] is None and first["fields"]["sender.email"] == stranger
    assert await identities_of(engine, stranger) == 0

    reply = await tickets_api.post(
        f"/api/v1/tickets/{ticket['id']}/replies", json={"text": "One was a duplicate."}
    )
    assert reply.status_code == 201, reply.text

    async def mails_to_stranger() -> list[EmailMessage]:
        return [m for m in mail_sink.received if m["To"] == stranger]

    (ours,) = await eventually(mails_to_stranger, lambda m: len(m) == 1, TIMEOUT, "our reply")
    assert ours["Subject"] == f"Re: Invoice question [#{ticket['number']}]"
    imap.append(
        folder,
        customer_mail(stranger, ours["Subject"], "Thanks!", In_Reply_To=ours["Message-ID"]),
    )
    messages = await eventually(
        lambda: messages_of(tickets_api, ticket["id"]), lambda m: len(m) == 3, TIMEOUT, "answer"
    )
    assert messages[2]["kind"] == "customer" and messages[2]["text"].strip() == "Thanks!"
    assert len(await tickets_of_account(engine, name)) == 1
    assert await identities_of(engine, stranger) == 0


async def test_bad_options_are_refused_with_the_reason(
    dovecot: Dovecot, tickets_api: httpx.AsyncClient, make_account: Callable[..., Any]
) -> None:
    def create(**options: Any) -> Any:
        return tickets_api.post(
            ACCOUNTS,
            json={
                "channel": "email",
                "name": f"bad{uuid.uuid4().hex[:8]}",
                "config": {**imap_config(dovecot, "INBOX"), **options},
                "secrets": {"password": PASSWORD},
            },
        )

    for options, reason in (
        ({"reopen_window_days": -2}, "reopen_window_days"),
        ({"reopen_window_days": "soon"}, "reopen_window_days"),
        ({"create_unknown_contacts": "yes"}, "create_unknown_contacts"),
        ({"default_group_id": 987654321}, "no agent group 987654321"),
    ):
        response = await create(**options)
        assert response.status_code == 422, response.text
        assert reason in response.json()["detail"]

    # Other channels too.
    telegram = await tickets_api.post(
        ACCOUNTS,
        json={
            "channel": "telegram",
            "name": f"bot{uuid.uuid4().hex[:8]}",
            "config": {"reopen_window_days": -1},
            "secrets": {"token": "123:abc"},
        },
    )
    assert telegram.status_code == 422 and "reopen_window_days" in telegram.json()["detail"]

    # A patch is checked too; a good one is stored and shown; null removes an option.
    name, _ = await make_account(enabled=False)
    path = f"{ACCOUNTS}/email/{name}"
    refused = await tickets_api.patch(path, json={"config": {"default_group_id": 987654321}})
    assert refused.status_code == 422 and "no agent group" in refused.json()["detail"]
    group = await tickets_api.post("/api/v1/groups", json={"name": f"G {name}"})
    assert group.status_code == 201, group.text
    options = {"default_group_id": group.json()["id"], "reopen_window_days": 0.5}
    patched = await tickets_api.patch(path, json={"config": options})
    assert patched.status_code == 200, patched.text
    assert {k: patched.json()["config"][k] for k in options} == options
    cleared = await tickets_api.patch(path, json={"config": {"reopen_window_days": None}})
    assert "reopen_window_days" not in cleared.json()["config"]
