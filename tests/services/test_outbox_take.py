"""The relay takes outbox rows with one statement (``repository.take_outbox``): deleted and
returned in id order, put back by a rollback (a failed publish), skipped by a second relay
while another holds them. In a database of its own, so the running ticket-core's relay
never sees these rows. And a batch's row is stored uncompressed (migration 0018)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from helpdesk_common.records import TicketEvent, TicketEventKind
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from ticket_core import repository as repo

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(scratch_database: str) -> AsyncIterator[Sessions]:
    engine = create_async_engine(scratch_database)
    async with engine.begin() as conn:
        await conn.run_sync(repo.outbox.create)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def _rows(sessions: Sessions, count: int) -> list[int]:
    async with sessions() as session, session.begin():
        result = await session.execute(
            insert(repo.outbox).returning(repo.outbox.c.id),
            [{"topic": "t", "payload": f"p{i}"} for i in range(count)],
        )
        return sorted(int(r[0]) for r in result)


async def _left(sessions: Sessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(repo.outbox)) or 0)


async def test_rows_come_in_id_order_and_a_rollback_puts_them_back(sessions: Sessions) -> None:
    ids = await _rows(sessions, 3)
    async with sessions() as session:
        async with session.begin():
            taken = await repo.take_outbox(session, None, 10)
            assert [r[0] for r in taken] == ids
            assert [r[2] for r in taken] == ["p0", "p1", "p2"]
            await session.rollback()  # the publish failed
    assert await _left(sessions) == 3
    async with sessions() as session, session.begin():
        assert [r[0] for r in await repo.take_outbox(session, None, 2)] == ids[:2]
    assert await _left(sessions) == 1


async def test_a_second_relay_skips_the_rows_another_holds(sessions: Sessions) -> None:
    ids = await _rows(sessions, 4)
    async with sessions() as first, first.begin():
        held = await repo.take_outbox(first, ids[:2], 10)
        assert [r[0] for r in held] == ids[:2]
        async with sessions() as second, second.begin():
            assert [r[0] for r in await repo.take_outbox(second, None, 10)] == ids[2:]
            assert await repo.take_outbox(second, ids[:2], 10) == []
    assert await _left(sessions) == 0


async def test_a_batchs_events_are_stored_out_of_line_without_compression(
    engine: AsyncEngine,
) -> None:
    # the migrated database; the row is rolled back, so no relay ever sees it
    events = [
        TicketEvent(
            kind=TicketEventKind.MESSAGE_ADDED, ticket_id=i, ticket_number=i, message_id=i
        ).model_dump_json()
        for i in range(55)  # a 25-record batch's events: about 20 KB of repetitive JSON
    ]
    async with AsyncSession(engine) as session, session.begin():
        [row_id] = await repo.add_outbox_run(session, "ticket.events.v1", events)
        stored = (
            await session.execute(
                text(
                    "SELECT pg_column_compression(payload), pg_column_size(payload),"
                    " octet_length(payload) FROM outbox WHERE id = :id"
                ),
                {"id": row_id},
            )
        ).one()
        # pglz would have shrunk it several times over, in the inbound transaction
        assert stored[0] is None and stored[1] >= stored[2] > 15_000
        taken = await repo.take_outbox(session, [row_id], 1)
        assert taken[0][2].split("\n") == events
        await session.rollback()
