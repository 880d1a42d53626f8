"""Status timers on PostgreSQL: Pending -> Open at the until-time, Resolved -> Closed after
the auto-close timeout, on time, with audit rows and events, and exactly once when two
replicas' loops race for the same due tickets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from helpdesk_common.records import TicketEvent, TicketEventKind
from sqlalchemy import select
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from ticket_core import repository as repo
from ticket_core.audit import Actor
from ticket_core.timers import TimerLoop, fire_due

from .conftest import Desk

SECOND = timedelta(seconds=1)


@pytest.fixture
async def replica_engines(infra) -> AsyncIterator[list[AsyncEngine]]:  # type: ignore[no-untyped-def]
    """Two connection pools: two replicas' worth of independent database sessions."""
    engines = [create_async_engine(infra.database_url) for _ in range(2)]
    yield engines
    for engine in engines:
        await engine.dispose()


async def test_due_timers_fire_in_one_transaction_with_audit_and_events(desk: Desk) -> None:
    """Fired at a simulated time in a transaction that is rolled back: deterministic, and
    nothing is left for the running ticket-core (its timers fire on the real clock)."""
    agent = Actor.agent(await desk.agent())
    pending, resolved = await desk.tickets(2)
    now = datetime.now(UTC)
    await desk.change([pending["id"]], agent, status="pending", pending_until=now + 600 * SECOND)
    await desk.change([resolved["id"]], agent, status="resolved", auto_close_after=600 * SECOND)
    mine = {pending["id"], resolved["id"]}
    async with desk.sessions() as session:
        async with session.begin():
            early = await fire_due(
                session, now + 590 * SECOND, limit=10_000, auto_close_after=600 * SECOND
            )
            assert not mine & set(early.ticket_ids)
            await session.rollback()
        async with session.begin():
            fired = await fire_due(
                session, now + 601 * SECOND, limit=10_000, auto_close_after=600 * SECOND
            )
            assert mine <= set(fired.ticket_ids)
            reopened = await repo.ticket_by_id(session, pending["id"])
            closed = await repo.ticket_by_id(session, resolved["id"])
            rows = await session.execute(
                select(repo.outbox.c.payload).where(repo.outbox.c.id.in_(fired.outbox_ids))
            )
            events = [TicketEvent.model_validate_json(p) for (p,) in rows]
            await session.rollback()
    assert reopened is not None and closed is not None
    assert (reopened["status"], reopened["pending_until"]) == ("open", None)
    assert reopened["open_since"] == now + 601 * SECOND
    assert (closed["status"], closed["auto_close_at"]) == ("closed", None)
    assert closed["closed_at"] == now + 601 * SECOND
    by_ticket = {e.ticket_id: e for e in events if e.ticket_id in mine}
    assert by_ticket[pending["id"]].kind is TicketEventKind.STATUS_CHANGED
    assert (by_ticket[pending["id"]].previous_status, by_ticket[pending["id"]].status) == (
        "pending",
        "open",
    )
    assert (by_ticket[resolved["id"]].previous_status, by_ticket[resolved["id"]].status) == (
        "resolved",
        "closed",
    )


async def _drive(loop: TimerLoop, fired: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        fired.extend(await loop.round())
        await asyncio.sleep(0.02)


async def test_two_replicas_fire_each_timer_exactly_once_and_on_time(
    desk: Desk, replica_engines: list[AsyncEngine]
) -> None:
    agent = Actor.agent(await desk.agent())
    tickets = await desk.tickets(40)
    pending = [t["id"] for t in tickets[:20]]
    resolved = [t["id"] for t in tickets[20:]]
    due = datetime.now(UTC) + 1.5 * SECOND
    await desk.change(pending, agent, status="pending", pending_until=due)
    await desk.change(resolved, agent, status="resolved", auto_close_after=1.5 * SECOND)

    loops = [
        TimerLoop(
            async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False),
            lambda: None,
            interval=0.05,
            auto_close_after=timedelta(days=7),
            batch=3,  # small rounds, so the replicas interleave
        )
        for engine in replica_engines
    ]
    fired: list[list[int]] = [[], []]
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(_drive(loop, f, stop)) for loop, f in zip(loops, fired, strict=True)
    ]
    deadline = asyncio.get_running_loop().time() + 15
    ids = set(pending) | set(resolved)
    while asyncio.get_running_loop().time() < deadline:
        states = {(await desk.ticket(i))["status"] for i in ids}
        if states <= {"open", "closed"}:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.gather(*tasks)

    assert not set(fired[0]) & set(fired[1])  # never the same ticket twice
    assert len(fired[0]) + len(fired[1]) == len(set(fired[0]) | set(fired[1]))
    for ticket_id in ids:
        ticket = await desk.ticket(ticket_id)
        system = [r for r in await desk.audit(ticket_id) if r["actor"] == "system"]
        # exactly once, whoever fired it (the running ticket-core is a third replica)
        assert [r["field"] for r in system if r["field"] == "status"] == ["status"]
        fired_at = system[0]["created_at"]
        assert due - SECOND / 2 <= fired_at <= due + 3 * SECOND  # exact to a few seconds
        if ticket_id in pending:
            assert (ticket["status"], system[0]["reason"]) == ("open", "pending_until reached")
        else:
            assert (ticket["status"], system[0]["reason"]) == ("closed", "auto-close")
