"""messenger-ingest and then the notifier die (SIGKILL) at a random point of a stream of
thousands of records, and are started again: nothing is lost, nothing is done twice.

(ticket-core's kill is in tests/e2e/test_crash_recovery.py, email-ingest's in tests/email.)
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest
from devstack.faults import restart_service
from devstack.probes import eventually, metric
from devstack.stack import Stack
from devstack.test_system import Fakes
from faults_helpers import (
    ACCOUNT,
    SEED,
    delivery_states,
    notifier_idle,
    numeric_base,
    post_replies,
    produce_stream,
    raw_telegram,
    run_id,
    sent_in_order,
    sent_texts,
    stored,
    telegram_tickets,
    telegram_update,
    texts_by_conversation,
)
from helpdesk_common.records import Channel, RawWebhook
from helpdesk_common.topics import raw_topic
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.e2e
RAW_TELEGRAM = raw_topic(Channel.TELEGRAM)

USERS = 100
PER_USER = 30  # 3,000 Telegram updates
REPLY_CHATS = 20
REPLIES = 1_000


async def kill_when(
    running: Stack, service: str, progress: Callable[[], Awaitable[float]], at: int, what: str
) -> int:
    """SIGKILL ``service`` as soon as ``progress()`` reaches ``at``; returns the progress
    seen at the kill."""
    deadline = time.monotonic() + 120
    while True:
        seen = int(await progress())
        if seen >= at:
            running.services[service].kill()
            return seen
        assert time.monotonic() < deadline, f"{what}: only {seen} of {at} before the kill"
        await asyncio.sleep(0.02)


def telegram_stream(base: int, run: str) -> list[RawWebhook]:
    """USERS private chats writing PER_USER messages each, interleaved; every tenth update
    is delivered a second time fifty updates later (Telegram retries a missed answer)."""
    updates = [
        raw_telegram(telegram_update(base + n * USERS + u, base + 5_000 + u, f"{run} u{u} #{n}"))
        for n in range(PER_USER)
        for u in range(USERS)
    ]
    stream: list[RawWebhook] = []
    for i, update in enumerate(updates):
        stream.append(update)
        if i >= 50 and i % 10 == 0:
            stream.append(updates[i - 50])
    return stream


async def test_messenger_ingest_killed_mid_stream_stores_every_message_once(
    running: Stack, engine: AsyncEngine, kafka: str, rng: random.Random
) -> None:
    run, base = run_id("mi"), numeric_base()
    key_prefix = f"telegram:{ACCOUNT}:{str(base)[:-4]}"
    stream = telegram_stream(base, run)
    total = USERS * PER_USER
    port = running.config.service_ports["messenger-ingest"]
    handled = {"outcome": "handled", "topic": RAW_TELEGRAM.name}
    before = await metric(port, "helpdesk_records_consumed_total", **handled)
    kill_at = rng.randint(len(stream) // 10, len(stream) // 2)

    # Raw records straight to raw.telegram.v1: exactly what the gateway publishes for
    # verified webhooks (one partition per bot account, so the kill hits one ordered log).
    producing = asyncio.create_task(produce_stream(kafka, RAW_TELEGRAM.name, stream))
    try:

        async def progress() -> float:
            return await metric(port, "helpdesk_records_consumed_total", **handled) - before

        seen = await kill_when(running, "messenger-ingest", progress, kill_at, "raw handled")
        assert seen < len(stream), f"killed after the stream was through (FAULTS_SEED={SEED})"
        at_kill = await stored(engine, key_prefix)
    finally:
        await asyncio.to_thread(restart_service, running, "messenger-ingest")
        await producing

    messages, keys = await eventually(
        lambda: stored(engine, key_prefix), lambda s: s[1] >= total, 120, "every update stored"
    )
    assert at_kill[1] < total  # the kill came while work was left
    assert (messages, keys) == (total, total)
    # One ticket per chat, and each chat's messages in the order they were written.
    by_chat = await texts_by_conversation(engine, key_prefix)
    assert len(by_chat) == USERS
    for texts in by_chat.values():
        numbers = [int(re.sub(r".*#", "", t)) for t in texts]
        assert numbers == list(range(PER_USER))


async def test_notifier_killed_mid_stream_sends_every_reply_once(
    running: Stack,
    engine: AsyncEngine,
    kafka: str,
    core: httpx.AsyncClient,
    fakes: Fakes,
    rng: random.Random,
) -> None:
    run, base = run_id("nt"), numeric_base()
    tickets = await telegram_tickets(engine, kafka, [base + c for c in range(REPLY_CHATS)], run)
    replies = [
        (tickets[base + n % REPLY_CHATS], f"{run} t{n % REPLY_CHATS} #{n}") for n in range(REPLIES)
    ]
    await notifier_idle(kafka)
    kill_at = rng.randint(REPLIES // 10, REPLIES // 2)

    posting = asyncio.create_task(post_replies(core, replies, concurrency=4))
    try:

        async def sent() -> float:
            return sum(sent_texts(fakes.telegram, run).values())

        seen = await kill_when(running, "notifier", sent, kill_at, "replies sent")
        assert seen < REPLIES, f"killed after every reply was sent (FAULTS_SEED={SEED})"
        at_kill = sent_in_order(fakes.telegram, run)
        await asyncio.sleep(0.5)
        # The notifier sends one record at a time: only the call in flight at the kill can
        # have gone out without "sent" in the send log. It is the last call that arrived
        # before the kill, or one that the dead process left on the wire.
        in_flight = {*at_kill[-1:], *sent_in_order(fakes.telegram, run)[len(at_kill) :]}
    finally:
        await asyncio.to_thread(restart_service, running, "notifier")
        message_ids = await posting

    expected = {body for _, body in replies}
    await eventually(
        lambda: _async(set(sent_texts(fakes.telegram, run))),
        lambda sent: sent == expected,
        120,
        "every reply sent",
    )
    await notifier_idle(kafka)  # redeliveries after the restart are over
    counts = sent_texts(fakes.telegram, run)
    duplicates = {body: n for body, n in counts.items() if n > 1}
    # An interrupted provider call may legitimately go out once more (the send log said
    # "sending"; not sending again could lose it), but only that one record, and once.
    assert len(duplicates) <= 1 and set(duplicates) <= in_flight, (duplicates, in_flight)
    assert all(n == 2 for n in duplicates.values()), duplicates
    assert sum(counts.values()) in (REPLIES, REPLIES + 1)
    states = await eventually(
        lambda: delivery_states(engine, message_ids),
        lambda s: s == {"sent": REPLIES},
        60,
        "delivery states",
    )
    assert states == {"sent": REPLIES}


async def _async(value: object) -> object:
    return value
