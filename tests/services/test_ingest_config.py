"""The configuration an inbound batch reads is cached per version (migration 0017,
``ticket_core/ingest_config.py``), against the real PostgreSQL, in-process.

A change committed by anyone (here: plain SQL, as an operator or another process would)
is seen by the next batch; an agent's password change is no configuration change; a
configuration read inside a transaction that rolled back is never served afterwards.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from ticket_core.ingest import ingest_batch
from ticket_core.ingest_config import INGEST_CONFIG

from .conftest import Desk, unique
from .test_account_options import DEFAULT_WINDOW, account, contacts_with_email, mail


async def version(desk: Desk) -> int:
    async with desk.sessions() as session:
        return int(await session.scalar(text("SELECT version FROM config_version")) or 0)


async def run_sql(desk: Desk, sql: str, **params: Any) -> None:
    async with desk.sessions() as session, session.begin():
        await session.execute(text(sql), params)


async def test_each_configuration_table_moves_the_version(desk: Desk) -> None:
    changes = [
        "UPDATE statuses SET name = name",
        "UPDATE priorities SET name = name",
        "UPDATE ticket_types SET name = name",
        "UPDATE sla_rules SET name = name",
        "UPDATE service_calendars SET name = name",
        "UPDATE channel_accounts SET config = config",
        "UPDATE agent_groups SET name = name",
        "DELETE FROM company_domains WHERE false",
        "UPDATE agents SET active = active",
        "UPDATE agents SET email = email",
    ]
    for sql in changes:
        before = await version(desk)
        await run_sql(desk, sql)
        assert await version(desk) > before, sql


async def test_an_agents_password_or_a_ticket_does_not(desk: Desk) -> None:
    before = await version(desk)
    await run_sql(desk, "UPDATE agents SET password_changed_at = password_changed_at")
    await desk.tickets(1)
    assert await version(desk) == before


async def test_a_change_committed_elsewhere_is_seen_by_the_next_batch(desk: Desk) -> None:
    name = await account(desk)
    first, second = f"{unique('a')}@example.com", f"{unique('b')}@example.com"
    await desk.ingest([mail(name, first)], window=DEFAULT_WINDOW)  # cached: creates contacts
    assert await contacts_with_email(desk, first) == 1
    await run_sql(
        desk,
        "UPDATE channel_accounts SET config = CAST(:c AS jsonb) WHERE name = :n",
        c='{"create_unknown_contacts": false}',
        n=name,
    )
    await desk.ingest([mail(name, second)], window=DEFAULT_WINDOW)
    assert await contacts_with_email(desk, second) == 0


async def test_a_configuration_read_in_a_rolled_back_transaction_is_not_served(
    desk: Desk,
) -> None:
    name = await account(desk)
    inside, after = f"{unique('in')}@example.com", f"{unique('out')}@example.com"
    async with desk.sessions() as session:
        async with session.begin():
            await session.execute(
                text("UPDATE channel_accounts SET config = CAST(:c AS jsonb) WHERE name = :n"),
                {"c": '{"create_unknown_contacts": false}', "n": name},
            )
            await ingest_batch(session, [mail(name, inside)], reopen_window=DEFAULT_WINDOW)
            await session.rollback()
    # Another configuration change commits: with "version + 1" it would get the number
    # the rolled-back transaction saw, and the cache would serve that transaction's view.
    await run_sql(desk, "UPDATE agent_groups SET name = name")
    await desk.ingest([mail(name, after)], window=DEFAULT_WINDOW)
    assert await contacts_with_email(desk, after) == 1  # the account still creates contacts
    assert await contacts_with_email(desk, inside) == 0  # rolled back


async def test_the_cache_reloads_only_when_the_version_moves(desk: Desk) -> None:
    await desk.tickets(1)
    cached = INGEST_CONFIG.current
    assert cached is not None and cached.version == await version(desk)
    await desk.tickets(1)
    assert INGEST_CONFIG.current is cached
    await run_sql(desk, "UPDATE priorities SET name = name")
    await desk.tickets(1)
    assert INGEST_CONFIG.current is not cached
