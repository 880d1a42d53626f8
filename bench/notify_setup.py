"""The notification benchmark's set-up: the outside world in this process (an SMTP sink
that counts, the fake Twilio) and the desk (the SMS account, the notification types,
agents with an email and a mobile number, tickets each with a responsible agent and
observers), and the ``sla.breached`` events it measures."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from devstack.fake_providers import FakeTelegram, FakeViber, FakeVk
from devstack.processes import free_port
from devstack.test_system import TWILIO_SID, TWILIO_TOKEN, Fakes, sms_and_phone_accounts
from helpdesk_common.notification_templates import TYPES
from helpdesk_common.records import (
    Channel,
    InboundMessage,
    SenderIdentity,
    ThreadHints,
    TicketEvent,
    TicketEventKind,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from ticket_core import repository as repo
from ticket_core.audit import SYSTEM
from ticket_core.ingest import ingest_batch
from ticket_core.workflow import ChangeRequest, apply_changes

MEASURED_TYPE = "agent.sla_breached"
CHANNELS = 2  # email and SMS


@dataclass
class CountingSink:
    """aiosmtpd handler: counts the mails it accepts and keeps a few for a content check."""

    port: int = field(default_factory=free_port)
    count: int = 0
    samples: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += 1
            if len(self.samples) < 3:
                self.samples.append(bytes(envelope.content))
        return "250 Message accepted"


def start_fakes() -> Fakes:
    """Only Twilio runs; the other fakes exist for ``service_env``'s base URLs."""
    fakes = Fakes(FakeTelegram(), FakeViber(), FakeVk())
    fakes.twilio.credentials[TWILIO_SID] = TWILIO_TOKEN
    fakes.twilio.start()
    return fakes


def event_record(ticket: dict[str, Any], i: int) -> TicketEvent:
    return TicketEvent(
        kind=TicketEventKind.SLA_BREACHED,
        ticket_id=ticket["id"],
        ticket_number=ticket["number"],
        details={"target": "resolution", "due_at": f"2031-01-01T10:{i % 60:02d}:00+00:00"},
    )


async def configure(core: httpx.AsyncClient, fakes: Fakes) -> None:
    twilio = next(a for a in sms_and_phone_accounts(fakes) if a["name"] == "sms_twilio")
    (await core.post("/api/v1/channel-accounts", json=twilio)).raise_for_status()
    for key in TYPES:
        body = {"enabled": key == MEASURED_TYPE}
        if key == MEASURED_TYPE:
            body.update(email_on=True, sms_on=True)
        (await core.patch(f"/api/v1/notifications/types/{key}", json=body)).raise_for_status()
    (
        await core.patch("/api/v1/notifications/settings", json={"sms_account": "sms_twilio"})
    ).raise_for_status()


async def make_agents(core: httpx.AsyncClient, count: int, run: str) -> list[int]:
    ids = []
    for i in range(count):
        created = await core.post(
            "/api/v1/agents",
            json={"name": f"Agent {i}", "email": f"{run}.a{i}@desk.test", "role": "specialist"},
        )
        created.raise_for_status()
        agent_id = int(created.json()["id"])
        phone = f"+7903{(hash(run) + i) % 10**7:07d}"
        profile = await core.put(
            f"/api/v1/notifications/agents/{agent_id}", json={"mobile_phone": phone}
        )
        profile.raise_for_status()
        ids.append(agent_id)
    return ids


async def make_tickets(
    database_url: str, run: str, count: int, agents: list[int], observers: int
) -> list[dict[str, Any]]:
    """Tickets from new senders, each assigned to one agent and observed by others."""
    engine = create_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    messages = [
        InboundMessage(
            idempotency_key=f"{run}:ticket:{i}",
            channel=Channel.WEBFORM,
            channel_account="default",
            sender=SenderIdentity(
                channel_user_id=f"{run}.c{i}@example.com", email=f"{run}.c{i}@example.com"
            ),
            thread=ThreadHints(conversation_id=f"{run}.c{i}@example.com"),
            subject=f"Printer {i} jams",
            text="The printer jams on every page.",
        )
        for i in range(count)
    ]
    try:
        async with sessions() as session, session.begin():
            await ingest_batch(session, messages, reopen_window=timedelta(days=7))
            rows = await session.execute(
                select(repo.tickets.c.id, repo.tickets.c.number)
                .join(repo.messages, repo.messages.c.ticket_id == repo.tickets.c.id)
                .where(repo.messages.c.idempotency_key.like(f"{run}:ticket:%"))
                .order_by(repo.tickets.c.id)
            )
            tickets = [{"id": int(r.id), "number": int(r.number)} for r in rows]
            for i, ticket in enumerate(tickets):
                team = [agents[(i + k) % len(agents)] for k in range(observers + 1)]
                outcome = await apply_changes(
                    session,
                    [ticket["id"]],
                    ChangeRequest(
                        responsible_agent_id=team[0], observer_agent_ids=frozenset(team[1:])
                    ),
                    SYSTEM,
                    now=datetime.now(UTC),
                    auto_close_after=timedelta(days=7),
                )
                assert outcome.updated == [ticket["id"]], outcome.failed
    finally:
        await engine.dispose()
    return tickets
