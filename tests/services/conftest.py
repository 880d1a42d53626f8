"""``desk``: ticket-core's workflow against the session's real PostgreSQL, in-process.

Tickets are made the way production makes them (``ingest_batch``), changes go through
``apply_changes`` in their own transaction, and every name is unique, so tests share the
database (and the running ticket-core, whose timers also fire due tickets) safely.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from helpdesk_common.records import Channel, InboundMessage, SenderIdentity, ThreadHints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from ticket_core import crud
from ticket_core import repository as repo
from ticket_core.audit import Actor
from ticket_core.ingest import IngestResult, ingest_batch
from ticket_core.models_org import agents, groups
from ticket_core.models_workflow import audit
from ticket_core.org_repo import set_members
from ticket_core.workflow import ChangeRequest, Outcome, apply_changes

WINDOW = timedelta(days=7)
WEEK = timedelta(days=7)


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def webform(email: str, text: str = "The printer jams", **kw: Any) -> InboundMessage:
    return InboundMessage(
        idempotency_key=f"test:{uuid.uuid4().hex}",
        channel=Channel.WEBFORM,
        channel_account="default",
        sender=SenderIdentity(channel_user_id=email, email=email, display_name="Ann"),
        thread=ThreadHints(conversation_id=email),
        text=text,
        **kw,
    )


@dataclass
class Desk:
    sessions: async_sessionmaker[AsyncSession]

    async def ingest(
        self,
        messages: Sequence[InboundMessage],
        now: datetime | None = None,
        window: timedelta = WINDOW,
    ) -> IngestResult:
        async with self.sessions() as session, session.begin():
            return await ingest_batch(session, list(messages), reopen_window=window, now=now)

    async def tickets(
        self, count: int = 1, domain: str = "example.com", now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """``count`` new tickets from new senders (one batch)."""
        senders = [f"{unique('c')}@{domain}" for _ in range(count)]
        await self.ingest([webform(s) for s in senders], now=now)
        found = []
        for sender in senders:
            ticket = await self.ticket_of(sender)
            assert ticket is not None
            found.append(ticket)
        return found

    async def ticket_of(self, email: str) -> dict[str, Any] | None:
        async with self.sessions() as session:
            row = await session.execute(
                select(repo.tickets)
                .join(repo.contacts, repo.contacts.c.id == repo.tickets.c.contact_id)
                .where(repo.contacts.c.email == email)
                .order_by(repo.tickets.c.id.desc())
                .limit(1)
            )
            found = row.mappings().first()
        return dict(found) if found else None

    async def ticket(self, ticket_id: int) -> dict[str, Any]:
        async with self.sessions() as session:
            found = await repo.ticket_by_id(session, ticket_id)
        assert found is not None
        return found

    async def agent(self, role: str = "specialist") -> int:
        async with self.sessions() as session, session.begin():
            row = await crud.create(
                session,
                agents,
                {"name": unique("Agent "), "email": f"{unique('a')}@desk.test", "role": role},
            )
        return int(row["id"])

    async def group(self, members: Sequence[int] = ()) -> int:
        async with self.sessions() as session, session.begin():
            row = await crud.create(session, groups, {"name": unique("Group ")})
            await set_members(session, row["id"], list(members))
        return int(row["id"])

    async def change(
        self,
        ticket_ids: Sequence[int],
        actor: Actor,
        now: datetime | None = None,
        auto_close_after: timedelta = WEEK,
        **request: Any,
    ) -> Outcome:
        async with self.sessions() as session, session.begin():
            return await apply_changes(
                session,
                ticket_ids,
                ChangeRequest(**request),
                actor,
                now=now or datetime.now(UTC),
                auto_close_after=auto_close_after,
            )

    async def audit(self, ticket_id: int) -> list[dict[str, Any]]:
        async with self.sessions() as session:
            rows = await session.execute(
                select(audit).where(audit.c.ticket_id == ticket_id).order_by(audit.c.id)
            )
        return [dict(r) for r in rows.mappings()]


@pytest.fixture(scope="session")
def desk(engine: AsyncEngine) -> Desk:
    return Desk(async_sessionmaker(engine, expire_on_commit=False))


@pytest.fixture
def scratch_database(infra):  # type: ignore[no-untyped-def]
    """An empty database of its own (dropped after the test): its URL."""
    name = f"mig_{uuid.uuid4().hex[:8]}"
    admin = (
        infra.database_url.replace("postgresql+asyncpg", "postgresql").rsplit("/", 1)[0]
        + "/postgres"
    )

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield infra.database_url.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(run(f'DROP DATABASE "{name}" WITH (FORCE)'))
