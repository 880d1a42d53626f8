"""ticket-core's work split over processes (``TICKET_CORE_RUN_INBOUND`` /
``TICKET_CORE_RUN_BACKGROUND``) and the outbox notification that makes the split work:

- a replica with only the background work joins the trigger consumers' group and never
  the inbound one; a replica with only the inbound work the reverse;
- committing outbox rows sends ``NOTIFY helpdesk_outbox``; a rolled-back write does not;
- the relay's listener wakes it on every notification and listens again after its
  connection is killed;
- an inbound batch's outbox row (one record per line) is published as its events, in
  order, once.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from devstack.faults import start_replica
from devstack.probes import eventually, read_topic
from devstack.stack import Stack
from faults_helpers import produce_stream, run_id, stored, webform_inbound
from helpdesk_common.topics import INBOUND_MESSAGES, TICKET_EVENTS
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from ticket_core.ingest import ingest_batch
from ticket_core.outbox_listener import CHANNEL, listen_for_outbox, plain_dsn

pytestmark = pytest.mark.e2e

WAIT = 90.0
WINDOW = timedelta(days=7)


def assigned_topics(log: Path) -> set[str]:
    """The topics of every partition assignment a service's log reports."""
    topics: set[str] = set()
    for line in log.read_text().splitlines():
        try:
            event = str(json.loads(line).get("event", ""))
        except json.JSONDecodeError:
            continue
        if "assigned to partitions" in event:
            topics.update(t for t in (INBOUND_MESSAGES.name, TICKET_EVENTS.name) if t in event)
    return topics


@pytest.mark.parametrize(
    ("env", "joins", "never"),
    [
        ({"TICKET_CORE_RUN_INBOUND": "false"}, TICKET_EVENTS.name, INBOUND_MESSAGES.name),
        ({"TICKET_CORE_RUN_BACKGROUND": "false"}, INBOUND_MESSAGES.name, TICKET_EVENTS.name),
    ],
    ids=["background-only", "inbound-only"],
)
async def test_a_replica_runs_only_its_share_of_the_work(
    running: Stack, env: dict[str, str], joins: str, never: str
) -> None:
    tag = "bg" if joins == TICKET_EVENTS.name else "in"
    child, _ = await asyncio.to_thread(start_replica, running, "ticket-core", f"role-{tag}", env)
    try:
        assert child.log_path is not None
        log = child.log_path
        topics = await eventually(
            lambda: asyncio.to_thread(assigned_topics, log), lambda t: joins in t, WAIT, joins
        )
        assert never not in topics
    finally:
        await asyncio.to_thread(child.stop)
    assert never not in assigned_topics(log)


def _dsn(running: Stack) -> str:
    assert running.infra is not None
    return plain_dsn(running.infra.database_url)


async def test_committed_outbox_rows_notify_and_rolled_back_ones_do_not(
    running: Stack, kafka: str, engine: AsyncEngine
) -> None:
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(_dsn(running))
    writer = await asyncpg.connect(_dsn(running))
    try:
        await listener.add_listener(CHANNEL, lambda *args: heard.put_nowait(args[2]))
        # A write that rolls back announces nothing (the row is never seen by a relay).
        await writer.execute("BEGIN")
        await writer.execute("INSERT INTO outbox (topic, payload) VALUES ('none', '{}')")
        await writer.execute("ROLLBACK")
        # ticket-core storing a message commits outbox rows: a notification arrives.
        run = run_id("notify")
        await produce_stream(kafka, INBOUND_MESSAGES.name, [webform_inbound(run, 0, 0)], pause=0)
        await eventually(lambda: stored(engine, f"{run}:"), lambda s: s[1] >= 1, WAIT, "stored")
        assert await asyncio.wait_for(heard.get(), WAIT) == CHANNEL
    finally:
        await listener.close()
        await writer.close()


async def test_the_relay_listener_wakes_on_notifications_and_listens_again_after_a_kill(
    running: Stack,
) -> None:
    woken = asyncio.Event()
    listening = asyncio.create_task(listen_for_outbox(_dsn(running), woken.set, retry_seconds=0.1))
    admin = await asyncpg.connect(_dsn(running))
    try:
        for round_ in ("first connection", "after the kill"):
            await asyncio.wait_for(woken.wait(), WAIT)  # woken once on (re)connecting
            woken.clear()
            await admin.execute(f"NOTIFY {CHANNEL}")
            await asyncio.wait_for(woken.wait(), WAIT)
            woken.clear()
            if round_ == "first connection":
                killed = await admin.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
                )
                assert killed >= 1
    finally:
        listening.cancel()
        await admin.close()


async def test_a_batch_outbox_row_is_published_as_its_events_in_order(
    running: Stack, kafka: str, engine: AsyncEngine
) -> None:
    """An inbound batch writes its events as one outbox row, one record per line; the
    relay (the running ticket-core's, woken by the notification) publishes every line,
    in order, once."""
    run = run_id("row")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        stored_batch = await ingest_batch(
            session, [webform_inbound(run, 0, n) for n in range(3)], reopen_window=WINDOW
        )
    assert len(stored_batch.outbox_ids) == 1 and len(stored_batch.events) == 4
    wanted = [e.event_id for e in stored_batch.events]

    async def published() -> list[str]:
        records = await read_topic(kafka, TICKET_EVENTS.name, timeout=2.0)
        ids = [json.loads(r.value or b"{}").get("event_id") for r in records]
        return [i for i in ids if i in wanted]

    seen = await eventually(published, lambda ids: len(ids) >= len(wanted), WAIT, "events")
    assert seen == wanted
