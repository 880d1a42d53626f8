"""Shared by the notification tests: the notification configuration API (the ``api``
fixture: import it into a module; reset to the defaults after that module), tickets made
and assigned as production makes them, and what the SMTP sink received."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from devstack.probes import eventually
from devstack.stack import Stack
from devstack.test_system import MailSink
from helpdesk_common.notification_templates import TYPES
from helpdesk_common.records import InboundMessage
from sqlalchemy import select, update
from ticket_core import repository as repo
from ticket_core.audit import Actor
from ticket_core.ingest import ingest_batch
from ticket_core.models_org import agents
from ticket_core.workflow import ChangeRequest, apply_changes

from .conftest import Desk

TIMEOUT = 30.0
CONFIG_TTL = 0.5  # NOTIFIER_NOTIFICATION_CONFIG_TTL_SECONDS in devstack.test_system
LAYOUT = '<html><body><div id="acme-brand">ACME HELP</div>{{ content }}</body></html>'


async def reset_configuration(client: httpx.AsyncClient) -> None:
    """The configuration is shared by every test package: back to the defaults."""
    for key in TYPES:
        (await client.delete(f"/api/v1/notifications/types/{key}")).raise_for_status()
    defaults = {
        "sender_name": "Support",
        "reply_to": None,
        "fallback_to_company_email": True,
        "company_copy": "never",
        "copy_to_author": False,
        "sms_account": None,
    }
    (await client.patch("/api/v1/notifications/settings", json=defaults)).raise_for_status()


async def configure(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> Any:
    response = await api.patch(f"/api/v1/notifications/{path}", json=body)
    assert response.status_code == 200, response.text
    await asyncio.sleep(CONFIG_TTL + 0.3)  # the notifier's cached copy has expired
    return response.json()


async def company_with_email(api: httpx.AsyncClient) -> tuple[int, str]:
    """A new company with a notification address: (its id, the address)."""
    email = f"office{uuid.uuid4().hex[:10]}@client.test"
    company = await api.post(
        "/api/v1/companies",
        json={"name": f"Client {uuid.uuid4().hex[:10]}", "notification_email": email},
    )
    assert company.status_code == 201, company.text
    return int(company.json()["id"]), email


async def assigned_ticket(
    desk: Desk,
    message: InboundMessage,
    responsible: int | None,
    actor: int,
    *,
    company_id: int | None = None,
    type_id: int | None = None,
    without_contact: bool = False,
    **change: Any,
) -> dict[str, Any]:
    """A new ticket, assigned (and typed, and given a company) in the same transaction;
    ``without_contact``: the ticket loses its contact and belongs to the company itself."""
    async with desk.sessions() as session, session.begin():
        await ingest_batch(session, [message], reopen_window=timedelta(days=7))
        ticket_id = await session.scalar(
            select(repo.messages.c.ticket_id).where(
                repo.messages.c.idempotency_key == message.idempotency_key
            )
        )
        assert ticket_id is not None
        if company_id is not None and without_contact:
            await session.execute(
                update(repo.tickets)
                .where(repo.tickets.c.id == ticket_id)
                .values(contact_id=None, company_id=company_id)
            )
        elif company_id is not None:
            ticket = await repo.ticket_by_id(session, ticket_id)
            assert ticket is not None
            await session.execute(
                update(repo.contacts)
                .where(repo.contacts.c.id == ticket["contact_id"])
                .values(company_id=company_id)
            )
        request: dict[str, Any] = {"responsible_agent_id": responsible, **change}
        if type_id is not None:
            request["type_id"] = type_id
        outcome = await apply_changes(
            session,
            [ticket_id],
            ChangeRequest(**request),
            Actor.agent(actor),
            now=datetime.now(UTC),
            auto_close_after=timedelta(days=7),
        )
        assert outcome.updated == [ticket_id], outcome.failed
        return outcome.tickets[ticket_id]


def mails_to(sink: MailSink, address: str) -> Callable[[], Awaitable[list[EmailMessage]]]:
    async def probe() -> list[EmailMessage]:
        return [m for m in sink.received if m["To"] == address]

    return probe


def with_subject(start: str) -> Callable[[list[EmailMessage]], bool]:
    return lambda mails: any(str(m["Subject"]).startswith(start) for m in mails)


async def agent_email(desk: Desk, agent_id: int) -> str:
    async with desk.sessions() as session:
        found = await session.scalar(select(agents.c.email).where(agents.c.id == agent_id))
    return str(found)


@pytest.fixture(scope="module", name="api")
async def notification_api(running: Stack) -> AsyncIterator[httpx.AsyncClient]:
    port = running.config.service_ports["ticket-core"]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=15) as client:
        await configure(client, "settings", {"layout": LAYOUT})
        yield client
        await reset_configuration(client)


async def agent_name(desk: Desk, agent_id: int) -> str:
    async with desk.sessions() as session:
        return str(await session.scalar(select(agents.c.name).where(agents.c.id == agent_id)))


def text_of(mail: EmailMessage) -> str:
    return str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def html_of(mail: EmailMessage) -> str:
    return str(mail.get_body(("html",)).get_content())  # type: ignore[union-attr]


def notification(mail: EmailMessage) -> str | None:
    value = mail["X-Helpdesk-Notification"]
    return None if value is None else str(value)


async def one_mail(sink: MailSink, address: str, subject: str, what: str) -> EmailMessage:
    """The only mail to ``address`` with exactly this subject (waits for it)."""

    async def subjects() -> list[str]:
        return [str(m["Subject"]) for m in await mails_to(sink, address)()]

    found = await eventually(subjects, lambda found: subject in found, TIMEOUT, what)
    assert found.count(subject) == 1, found
    return next(m for m in await mails_to(sink, address)() if m["Subject"] == subject)


def as_agent(agent_id: int) -> dict[str, str]:
    return {"X-Agent-Id": str(agent_id)}


def new_phone(prefix: str = "+7916") -> str:
    return f"{prefix}{uuid.uuid4().int % 10**7:07d}"
