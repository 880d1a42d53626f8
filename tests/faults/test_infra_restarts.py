"""PostgreSQL and Redis go away in the middle of a stream and come back (same port, same
data): nothing is lost or stored twice, and the services recover on their own."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from functools import partial

import httpx
import pytest
from devstack.faults import start_postgres, start_redis, stop_postgres, stop_redis
from devstack.probes import eventually, metric
from devstack.stack import Stack
from devstack.test_system import TELEGRAM_SECRET, Fakes
from faults_helpers import (
    ACCOUNT,
    SEED,
    delivery_states,
    in_order,
    notifier_idle,
    numeric_base,
    outbox_rows,
    post_replies,
    produce_stream,
    ready,
    run_id,
    sent_in_order,
    sent_texts,
    stored,
    telegram_tickets,
    telegram_update,
    texts_by_conversation,
    tickets_of_run,
    webform_inbound,
)
from helpdesk_common.topics import INBOUND_MESSAGES
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.e2e

CONSUMED = "helpdesk_records_consumed_total"
CUSTOMERS = 200
PER_CUSTOMER = 10  # 2,000 inbound records
WEBHOOK_CHATS = 20
WEBHOOKS = 300
REPLY_CHATS = 5
REPLIES = 300
DROPPED = 0  # stands for "no HTTP answer" among the status codes counted


async def test_postgres_restarted_mid_stream_ticket_core_recovers_by_itself(
    running: Stack, engine: AsyncEngine, kafka: str, rng: random.Random
) -> None:
    run = run_id("pg")
    records = [webform_inbound(run, c, n) for n in range(PER_CUSTOMER) for c in range(CUSTOMERS)]
    total = len(records)
    core = running.services["ticket-core"]
    assert core.process is not None
    pid = core.process.pid
    port = running.config.service_ports["ticket-core"]
    failed = {"topic": INBOUND_MESSAGES.name}
    failures_before = await metric(port, "helpdesk_batch_failures_total", **failed)
    parked_before = await metric(port, CONSUMED, outcome="dead_lettered", **failed)
    stop_at = rng.randint(total // 10, total // 2)
    down_for = rng.uniform(1.0, 3.0)

    producing = asyncio.create_task(
        produce_stream(kafka, INBOUND_MESSAGES.name, records, chunk=50, pause=0.1)
    )
    await eventually(
        lambda: stored(engine, f"{run}:"), lambda s: s[0] >= stop_at, 60, "first records"
    )
    await asyncio.to_thread(stop_postgres, running)
    try:
        at_stop = f"stopped with the stream {'done' if producing.done() else 'flowing'}"
        await asyncio.sleep(down_for)  # records keep arriving; ticket-core's batches fail
    finally:
        await asyncio.to_thread(start_postgres, running)
        await engine.dispose()  # the test's own pooled connections died with the server
    await producing

    messages, keys = await eventually(
        lambda: stored(engine, f"{run}:"), lambda s: s[1] >= total, 90, "every record stored"
    )
    assert (messages, keys) == (total, total), f"FAULTS_SEED={SEED}, {at_stop}"
    assert await tickets_of_run(engine, f"webform:default:{run}-") == CUSTOMERS
    assert all(in_order(t) for t in (await texts_by_conversation(engine, f"{run}:")).values())
    # The same process carried on: its batches failed while the database was away and
    # were rewound (transient), not dead-lettered; its outbox relay caught up after.
    assert core.alive and core.process.pid == pid
    assert await metric(port, "helpdesk_batch_failures_total", **failed) > failures_before
    assert await metric(port, CONSUMED, outcome="dead_lettered", **failed) == parked_before
    await eventually(lambda: outbox_rows(engine), lambda n: n == 0, 30, "outbox drained")
    await eventually(lambda: ready(port), bool, 30, "ticket-core ready")


async def test_redis_restarted_mid_stream_nothing_lost_services_recover(
    running: Stack,
    engine: AsyncEngine,
    kafka: str,
    core: httpx.AsyncClient,
    gateway: httpx.AsyncClient,
    fakes: Fakes,
    rng: random.Random,
) -> None:
    """Agent replies go out through the notifier (send log in Redis) while customers'
    webhooks come in through the gateway (rate limits in Redis); Redis restarts."""
    run, base = run_id("rd"), numeric_base()
    tickets = await telegram_tickets(engine, kafka, [base + c for c in range(REPLY_CHATS)], run)
    replies = [(tickets[base + n % REPLY_CHATS], f"{run} reply #{n}") for n in range(REPLIES)]
    updates = [
        telegram_update(base + 100 + n, base + 5_000 + n % WEBHOOK_CHATS, f"{run} in #{n}")
        for n in range(WEBHOOKS)
    ]
    await notifier_idle(kafka)
    stop_at = rng.randint(REPLIES // 10, REPLIES // 2)
    down_for = rng.uniform(1.0, 3.0)
    answers: Counter[int] = Counter()

    async def deliver(update: dict[str, object]) -> None:
        """Like Telegram: post until the answer is 2xx (it retries everything else)."""
        for _ in range(300):
            try:
                response = await gateway.post(
                    f"/webhooks/telegram/{ACCOUNT}",
                    content=json.dumps(update),
                    headers={
                        "Content-Type": "application/json",
                        "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
                    },
                )
            except httpx.TransportError:
                answers[DROPPED] += 1  # the connection closed without an answer
            else:
                answers[response.status_code] += 1
                if response.status_code == 200:
                    return
            await asyncio.sleep(0.1)
        raise AssertionError(f"webhook never accepted: {answers}")

    async def webhooks() -> None:
        lanes = [updates[i::4] for i in range(4)]

        async def lane(items: list[dict[str, object]]) -> None:
            for update in items:  # paced, so the stream spans the outage
                await deliver(update)
                await asyncio.sleep(0.1)

        await asyncio.gather(*(lane(items) for items in lanes))

    posting = asyncio.create_task(post_replies(core, replies, concurrency=4))
    hooking = asyncio.create_task(webhooks())
    await eventually(
        lambda: _sum(sent_texts(fakes.telegram, run)), lambda n: n >= stop_at, 60, "replies"
    )
    await asyncio.to_thread(stop_redis, running)
    at_stop = sent_in_order(fakes.telegram, run)
    assert not hooking.done(), f"the webhooks were through before the stop ({SEED=})"
    try:
        await asyncio.sleep(down_for)
    finally:
        # Only the provider call in flight when Redis went can have gone out without
        # "sent" in the send log: the last one before the stop, or one that landed
        # during it (nothing else is sent without Redis).
        in_flight = {*at_stop[-1:], *sent_in_order(fakes.telegram, run)[len(at_stop) :]}
        await asyncio.to_thread(start_redis, running)
    message_ids = await posting
    await hooking

    expected = {body for _, body in replies}
    await eventually(
        lambda: _async(set(sent_texts(fakes.telegram, run))),
        lambda sent: sent == expected,
        90,
        "every reply sent",
    )
    await notifier_idle(kafka)
    counts = sent_texts(fakes.telegram, run)
    duplicates = {body: n for body, n in counts.items() if n > 1}
    assert len(duplicates) <= 1 and set(duplicates) <= in_flight, (duplicates, in_flight)
    assert all(n == 2 for n in duplicates.values()), duplicates
    await eventually(
        lambda: delivery_states(engine, message_ids),
        lambda s: s == {"sent": REPLIES},
        60,
        "replies marked sent",
    )

    key_prefix = f"telegram:{ACCOUNT}:{str(base)[:-4]}"
    messages, keys = await eventually(
        lambda: stored(engine, key_prefix), lambda s: s[1] >= WEBHOOKS, 90, "webhooks stored"
    )
    assert (messages, keys) == (WEBHOOKS, WEBHOOKS)
    # While Redis was away the gateway refused (a 5xx, or the connection closed), so the
    # provider retries: never a 2xx for a body it did not publish, never a 4xx.
    assert set(answers) <= {200, 500, 503, DROPPED}, answers
    for name in running.config.service_ports:  # all of them: most use Redis
        child = running.services[name]
        assert child.alive, name
        port = running.config.service_ports[name]
        await eventually(partial(ready, port), bool, 30, f"{name} ready")


async def _sum(counts: Counter[str]) -> int:
    return sum(counts.values())


async def _async(value: object) -> object:
    return value
