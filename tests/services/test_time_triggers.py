"""Time triggers in-process on the real PostgreSQL: once per quiet spell, a second look once
a non-matching ticket changes, and one firing when replicas scan at once. The first two
roll their transaction back (trigger_helpers); the replica test commits its trigger and
removes it at the end."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from ticket_core import crud
from ticket_core.audit import SYSTEM
from ticket_core.models_triggers import triggers
from ticket_core.trigger_actions import parse_actions
from ticket_core.trigger_executor import Provenance, execute
from ticket_core.trigger_time import TimeTriggerLoop, scan_time_triggers

from .conftest import Desk, unique, webform
from .trigger_helpers import (
    HOUR,
    SETTINGS,
    add_trigger,
    customer_writes,
    firings_of,
    messages_of,
    mine,
    new_ticket,
    rolled_back,
)


async def test_a_time_trigger_fires_once_per_quiet_spell(desk: Desk) -> None:
    async with rolled_back(desk) as session:
        email = f"{unique('c')}@example.com"
        now = datetime.now(UTC)
        trigger = await add_trigger(
            session,
            "time",
            mine(email, {"field": "ticket.status", "op": "in", "value": ["open", "pending"]}),
            [{"type": "add_note", "text": "Still there?"}],
            time_anchor="last_customer_message_at",
            time_after_hours=2,
        )
        ticket_id, _ = await new_ticket(session, email, now=now - 3 * HOUR)

        async def scan(at: datetime) -> int:
            fired = await scan_time_triggers(session, SETTINGS, at, limit=10_000)
            return sum(1 for t, _ in fired.firings if t == trigger)

        first = [await scan(now), await scan(now), await scan(now + 10 * HOUR)]
        await customer_writes(session, email, now=now)  # a new period starts
        second = [await scan(now + HOUR), await scan(now + 2 * HOUR + timedelta(seconds=1))]
        again = await scan(now + 5 * HOUR)
        notes = [m for m in await messages_of(session, ticket_id) if m["kind"] == "internal_note"]
    assert first == [1, 0, 0]
    assert second == [0, 1]
    assert again == 0
    assert [n["text"] for n in notes] == ["Still there?", "Still there?"]


async def test_a_time_trigger_looks_again_once_a_non_matching_ticket_changes(desk: Desk) -> None:
    async with rolled_back(desk) as session:
        email = f"{unique('c')}@example.com"
        now = datetime.now(UTC)
        trigger = await add_trigger(
            session,
            "time",
            mine(email, {"field": "ticket.tags", "op": "contains", "value": "watch"}),
            [{"type": "add_note", "text": "Watched and quiet"}],
            time_anchor="created_at",
            time_after_hours=1,
        )
        ticket_id, _ = await new_ticket(session, email, now=now - 2 * HOUR)

        async def scan() -> int:
            fired = await scan_time_triggers(session, SETTINGS, now, limit=10_000)
            return sum(1 for t, _ in fired.firings if t == trigger)

        before = [await scan(), await scan()]
        await execute(
            session,
            ticket_id,
            parse_actions([{"type": "add_tag", "tag": "watch"}]),
            actor=SYSTEM,
            reason="test",
            provenance=Provenance(),
            settings=SETTINGS,
            now=now,
        )
        after = [await scan(), await scan()]
    assert before == [0, 0]
    assert after == [1, 0]


async def test_replicas_scanning_at_once_fire_a_period_once(desk: Desk, infra: Any) -> None:
    """Committed (the other replicas, the running ticket-core's included, must see the
    trigger): two pools scan three times each, concurrently; one firing, one note."""
    email = f"{unique('c')}@example.com"
    await desk.ingest([webform(email)], now=datetime.now(UTC) - 3 * HOUR)
    found = await desk.ticket_of(email)
    assert found is not None
    async with desk.sessions() as session, session.begin():
        trigger = await add_trigger(
            session,
            "time",
            mine(email),
            [{"type": "add_note", "text": "Anyone there?"}],
            time_anchor="last_customer_message_at",
            time_after_hours=2,
        )
    engines = [create_async_engine(infra.database_url) for _ in range(2)]
    try:
        loops = [
            TimeTriggerLoop(
                async_sessionmaker(e, expire_on_commit=False),
                lambda: None,
                SETTINGS,
                interval=1,
                batch=10_000,
            )
            for e in engines
        ]
        await asyncio.gather(*(loop.round() for loop in loops for _ in range(3)))
        async with desk.sessions() as session:
            notes = [
                m for m in await messages_of(session, found["id"]) if m["kind"] == "internal_note"
            ]
            fired = await firings_of(session, trigger)
    finally:
        async with desk.sessions() as session, session.begin():
            await crud.remove(session, triggers, trigger)
        for engine in engines:
            await engine.dispose()
    assert [n["text"] for n in notes] == ["Anyone there?"]
    assert [(f["ticket_id"], f["error"]) for f in fired] == [(found["id"], None)]
