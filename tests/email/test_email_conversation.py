"""A whole email conversation through the running services and real mail servers.

Customer mail appended to Dovecot -> email-ingest (a process with the mailbox in its
environment) -> ticket-core; the agent's reply -> notifier -> the SMTP sink, with the
subject token and threading headers; the customer's answer (quoting our reply) joins
the same ticket with the quote cut; an out-of-office answer reopens nothing and gets
no answer; a bounce of our reply marks its delivery failed.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from devstack.probes import eventually
from devstack.processes import Child, free_port
from devstack.services import BY_NAME, service_child, wait_ready
from devstack.stack import Stack
from devstack.test_system import MailSink
from helpdesk_common.email_markers import REPLY_SEPARATOR
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import OUR_ADDRESS, PASSWORD, Imap

pytestmark = pytest.mark.e2e
TIMEOUT = 30.0


@pytest.fixture
async def mailbox(running: Stack, make_mailbox: Callable[..., Any]) -> AsyncIterator[Any]:
    """A mailbox of its own, polled by an email-ingest process of its own."""
    assert running.infra is not None
    box = make_mailbox(idle_timeout_seconds=30.0)
    env = {
        "EMAIL_INGEST_MAILBOXES": json.dumps(
            [{**box.model_dump(mode="json"), "password": PASSWORD}]
        ),
        "EMAIL_INGEST_REDIS_PREFIX": f"conv-{box.name}",
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


def customer_mail(sender: str, subject: str, body: str, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Anna <{sender}>"
    msg["To"] = OUR_ADDRESS
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@client.example>"
    msg["Date"] = "Thu, 26 Nov 2026 10:00:00 +0000"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return bytes(msg)


def bounce_of(message_id: str, recipient: str) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\n"
        f"To: {OUR_ADDRESS}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@mx.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {OUR_ADDRESS}\r\nTo: {recipient}\r\nMessage-ID: {message_id}\r\n"
        "--B--\r\n"
    ).encode()


async def tickets_for(api: httpx.AsyncClient, email: str) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/tickets", params={"contact_email": email})
    response.raise_for_status()
    return list(response.json()["items"])


async def messages_of(api: httpx.AsyncClient, ticket_id: int) -> list[dict[str, Any]]:
    response = await api.get(f"/api/v1/tickets/{ticket_id}")
    response.raise_for_status()
    return list(response.json()["messages"])


async def test_email_conversation_end_to_end(
    mailbox: Any,
    imap: Imap,
    tickets_api: httpx.AsyncClient,
    mail_sink: MailSink,
    engine: AsyncEngine,
) -> None:
    customer = f"anna-{uuid.uuid4().hex[:8]}@client.example"
    imap.append(mailbox.folder, customer_mail(customer, "Printer broken", "It jams on page 2."))
    (ticket,) = await eventually(
        lambda: tickets_for(tickets_api, customer), lambda t: len(t) == 1, TIMEOUT, "ticket"
    )
    assert ticket["subject"] == "Printer broken" and ticket["channel"] == "email"
    first = (await messages_of(tickets_api, ticket["id"]))[0]

    # The agent answers: the customer gets our mail with the token and threading headers.
    reply = await tickets_api.post(
        f"/api/v1/tickets/{ticket['id']}/replies", json={"text": "Try the blue lever."}
    )
    assert reply.status_code == 201, reply.text

    async def mails_to_customer() -> list[EmailMessage]:
        return [m for m in mail_sink.received if m["To"] == customer]

    (ours,) = await eventually(mails_to_customer, lambda m: len(m) == 1, TIMEOUT, "our reply")
    assert ours["Subject"] == f"Re: Printer broken [#{ticket['number']}]"
    assert ours["In-Reply-To"] == first["external_message_id"]
    our_id = ours["Message-ID"]

    # The customer answers above our quoted reply: same ticket, quote cut.
    quoted = ours.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    answer_body = "The blue lever worked, thanks!\n\n" + "\n".join(
        f"> {line}" for line in quoted.splitlines()
    )
    imap.append(
        mailbox.folder,
        customer_mail(
            customer, ours["Subject"], answer_body, In_Reply_To=our_id, References=our_id
        ),
    )
    messages = await eventually(
        lambda: messages_of(tickets_api, ticket["id"]), lambda m: len(m) == 3, TIMEOUT, "answer"
    )
    assert messages[2]["kind"] == "customer"
    assert messages[2]["text"].strip() == "The blue lever worked, thanks!"
    assert REPLY_SEPARATOR not in messages[2]["text"]
    assert len(await tickets_for(tickets_api, customer)) == 1

    # Resolved (there is no status API yet: set it in the database), then an out-of-office.
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE tickets SET status = 'resolved', resolved_at = now() WHERE id = :t"),
            {"t": ticket["id"]},
        )
    imap.append(
        mailbox.folder,
        customer_mail(
            customer,
            "Automatic reply: " + ours["Subject"],
            "I am away until Monday.",
            In_Reply_To=our_id,
            Auto_Submitted="auto-replied",
        ),
    )
    messages = await eventually(
        lambda: messages_of(tickets_api, ticket["id"]), lambda m: len(m) == 4, TIMEOUT, "ooo"
    )
    assert messages[3]["auto_submitted"] is True
    (still,) = await tickets_for(tickets_api, customer)
    assert still["status"] == "resolved"

    # A bounce of our reply: the reply's delivery failed, nothing reopened.
    imap.append(mailbox.folder, bounce_of(our_id, customer))

    async def reply_state() -> str | None:
        found = await messages_of(tickets_api, ticket["id"])
        return next(m["delivery_state"] for m in found if m["id"] == reply.json()["id"])

    await eventually(reply_state, lambda s: s == "failed", TIMEOUT, "bounce")
    (after,) = await tickets_for(tickets_api, customer)
    assert after["status"] == "resolved"
    assert len(await mails_to_customer()) == 1  # no automatic answer to any of it
