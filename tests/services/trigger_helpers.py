"""Helpers of the in-process trigger tests (test_trigger_actions, test_trigger_events,
test_time_triggers) on the real PostgreSQL.

Each test works inside one transaction that it rolls back at the end (``rolled_back``): its
triggers, tickets and firings are never seen by the running ticket-core (whose trigger
consumer and time scan work on committed rows), so the results are deterministic. Events
the triggers cause are read back from the outbox and fed to the engine again, as the
consumer would (``cascade``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from helpdesk_common.records import OutboundMessage, TicketEvent
from helpdesk_common.topics import OUTBOUND_MESSAGES, TICKET_EVENTS
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from ticket_core import crud
from ticket_core import repository as repo
from ticket_core.ingest import ingest_batch
from ticket_core.models_triggers import firings, triggers
from ticket_core.models_workflow import statuses
from ticket_core.replies import ReplySettings
from ticket_core.trigger_engine import Fired, handle_events
from ticket_core.trigger_executor import ExecutorSettings

from .conftest import WINDOW, Desk, unique, webform

SETTINGS = ExecutorSettings(ReplySettings("helpdesk.test", "support"), timedelta(days=7))
HOUR = timedelta(hours=1)
WAITING = "Waiting for reply"


@asynccontextmanager
async def rolled_back(desk: Desk) -> AsyncIterator[AsyncSession]:
    async with desk.sessions() as session:
        await session.begin()
        try:
            yield session
        finally:
            await session.rollback()


async def new_ticket(
    session: AsyncSession, email: str, now: datetime | None = None, text: str = "Help"
) -> tuple[int, list[TicketEvent]]:
    result = await ingest_batch(
        session, [webform(email, text)], reopen_window=WINDOW, now=now or datetime.now(UTC)
    )
    return result.events[0].ticket_id, result.events


async def customer_writes(
    session: AsyncSession, email: str, now: datetime | None = None, **kw: Any
) -> list[TicketEvent]:
    result = await ingest_batch(
        session, [webform(email, "Thanks", **kw)], reopen_window=WINDOW, now=now
    )
    return result.events


def mine(email: str, *more: dict[str, Any]) -> dict[str, Any]:
    """A condition that holds for this test's tickets only."""
    return {"all": [{"field": "contact.email", "op": "eq", "value": email}, *more]}


async def add_trigger(
    session: AsyncSession, event: str, conditions: dict[str, Any], actions: list[Any], **kw: Any
) -> int:
    row = await crud.create(
        session,
        triggers,
        {
            "name": unique("trigger "),
            "event": event,
            "conditions": conditions,
            "actions": actions,
            "position": 1000,
            **kw,
        },
    )
    return int(row["id"])


async def outbox_records(session: AsyncSession, ids: Sequence[int]) -> list[Any]:
    rows = await session.execute(
        select(repo.outbox.c.topic, repo.outbox.c.payload)
        .where(repo.outbox.c.id.in_(list(ids)))
        .order_by(repo.outbox.c.id)
    )
    records: list[Any] = []
    for topic, payload in rows:
        if topic == TICKET_EVENTS.name:
            records.append(TicketEvent.model_validate_json(payload))
        elif topic == OUTBOUND_MESSAGES.name:
            records.append(OutboundMessage.model_validate_json(payload))
    return records


async def events_of(session: AsyncSession, ids: Sequence[int]) -> list[TicketEvent]:
    return [r for r in await outbox_records(session, ids) if isinstance(r, TicketEvent)]


async def cascade(
    session: AsyncSession, events: list[TicketEvent], rounds: int = 10
) -> tuple[list[Fired], list[TicketEvent]]:
    """Feed events to the engine, then the events its firings caused, until none come."""
    rounds_fired: list[Fired] = []
    for _ in range(rounds):
        fired = await handle_events(session, events, SETTINGS)
        rounds_fired.append(fired)
        caused = await events_of(session, fired.outbox_ids)
        if not caused:
            break
        events = caused
    return rounds_fired, events


async def messages_of(session: AsyncSession, ticket_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(repo.messages).where(repo.messages.c.ticket_id == ticket_id).order_by("id")
    )
    return [dict(r) for r in rows.mappings()]


async def firings_of(session: AsyncSession, trigger_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(select(firings).where(firings.c.trigger_id == trigger_id))
    return [dict(r) for r in rows.mappings()]


async def ticket(session: AsyncSession, ticket_id: int) -> dict[str, Any]:
    found = await repo.ticket_by_id(session, ticket_id)
    assert found is not None
    return found


async def status_id(session: AsyncSession, name: str) -> int:
    found = await session.scalar(select(statuses.c.id).where(statuses.c.name == name))
    assert found is not None
    return int(found)
