"""Poison records: valid JSON of the right schema whose content cannot be processed. Each
goes to ``<topic>.dlq`` with its reason after bounded retries, and the records behind
it on the same partition (same key) are processed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from devstack.probes import eventually, metric, produce_records, read_topic
from devstack.stack import Stack
from faults_helpers import (
    ACCOUNT,
    discard_parked,
    in_order,
    numeric_base,
    raw_telegram,
    run_id,
    stored,
    telegram_update,
    texts_by_conversation,
)
from helpdesk_common.records import (
    Channel,
    InboundMessage,
    Record,
    SenderIdentity,
    ThreadHints,
)
from helpdesk_common.topics import INBOUND_MESSAGES, raw_topic
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.e2e

CONSUMED = "helpdesk_records_consumed_total"
FAILURES = "helpdesk_batch_failures_total"
RAW_TELEGRAM = raw_topic(Channel.TELEGRAM)


def customer_message(
    email: str, key: str, text_: str, ticket_number: int | None = None
) -> InboundMessage:
    return InboundMessage(
        idempotency_key=key,
        channel=Channel.WEBFORM,
        channel_account="default",
        sender=SenderIdentity(channel_user_id=email, email=email),
        thread=ThreadHints(conversation_id=email, ticket_number=ticket_number),
        text=text_,
    )


async def parked(kafka: str, topic: str, records: list[Record]) -> dict[str, dict[str, str]]:
    """The dead letters of ``topic`` whose value is one of ``records``: value -> headers."""
    values = {r.model_dump_json().encode() for r in records}
    found: dict[str, dict[str, str]] = {}
    for letter in await read_topic(kafka, f"{topic}.dlq"):
        if letter.value in values:
            found[letter.value.decode()] = {k: v.decode() for k, v in letter.headers}
    return found


@pytest.fixture
async def will_park(kafka: str) -> AsyncIterator[list[str]]:
    """Topics this test parks poison in. Replayed, poison would only be parked again: at
    the end the replay command's group is moved past it (what an operator does with a
    dead letter that must not come back), whatever the outcome of the test."""
    topics: list[str] = []
    yield topics
    for topic in topics:
        await discard_parked(kafka, topic)


async def test_ticket_core_parks_an_impossible_message_and_processes_the_rest(
    running: Stack, engine: AsyncEngine, kafka: str, will_park: list[str]
) -> None:
    run = run_id("px")
    email = f"{run}@example.com"
    good = [customer_message(email, f"{run}:ok:{n}", f"{run} #{n}") for n in range(20)]
    # A ticket number no ticket can have (beyond PostgreSQL's bigint): the batch's ticket
    # lookup fails with a data error, which no retry can fix.
    poison = customer_message(email, f"{run}:poison", "impossible", ticket_number=2**70)
    port = running.config.service_ports["ticket-core"]
    labels = {"topic": INBOUND_MESSAGES.name}
    failures_before = await metric(port, FAILURES, **labels)
    parked_before = await metric(port, CONSUMED, outcome="dead_lettered", **labels)

    # One producer call, one key: one partition, poison in the middle of the stream.
    will_park.append(INBOUND_MESSAGES.name)
    await produce_records(kafka, INBOUND_MESSAGES.name, [*good[:5], poison, *good[5:]])

    letters = await eventually(
        lambda: parked(kafka, INBOUND_MESSAGES.name, [poison]), bool, 60, "poison parked"
    )
    headers = letters[poison.model_dump_json()]
    assert "out of int64 range" in headers["dlq_error"], headers
    assert headers["dlq_source"].startswith(f"{INBOUND_MESSAGES.name}/")
    assert headers["correlation_id"] == poison.correlation_id
    messages, _ = await eventually(
        lambda: stored(engine, f"{run}:"), lambda s: s[0] >= len(good), 60, "records behind it"
    )
    assert messages == len(good)  # all the good ones, the poison not
    by_ticket = await texts_by_conversation(engine, f"{run}:")
    assert len(by_ticket) == 1 and in_order(next(iter(by_ticket.values())))
    # Bounded: the batch was tried (retry_attempts = 3), then each record once.
    failed = await metric(port, FAILURES, **labels) - failures_before
    assert 4 <= failed <= 8, failed
    assert await metric(port, CONSUMED, outcome="dead_lettered", **labels) == parked_before + 1


async def test_messenger_ingest_parks_unusable_updates_and_processes_the_rest(
    running: Stack, engine: AsyncEngine, kafka: str, will_park: list[str]
) -> None:
    run, base = run_id("pm"), numeric_base()
    user = base + 9_000

    def update(n: int) -> dict[str, object]:
        return telegram_update(base + n, user, f"{run} #{n}")

    good = [raw_telegram(update(n)) for n in range(10)]
    # A kind of update we do not handle (a post in a channel), and a message dated 2.2
    # million years before the epoch (the platform cannot even represent it: OSError).
    post = {"message_id": 1, "date": 1, "chat": {"id": -1001, "type": "channel"}, "text": "x"}
    unsupported = raw_telegram({"update_id": base + 100, "channel_post": post})
    ancient = update(101)
    ancient["message"]["date"] = -69_150_318_244_477_970  # type: ignore[index]
    absurd = raw_telegram(ancient)
    port = running.config.service_ports["messenger-ingest"]
    labels = {"topic": RAW_TELEGRAM.name}
    parked_before = await metric(port, CONSUMED, outcome="dead_lettered", **labels)

    # Raw records of one bot share a key (telegram:<account>): one partition, in order.
    will_park.append(RAW_TELEGRAM.name)
    await produce_records(kafka, RAW_TELEGRAM.name, [*good[:3], unsupported, absurd, *good[3:]])

    letters = await eventually(
        lambda: parked(kafka, RAW_TELEGRAM.name, [unsupported, absurd]),
        lambda found: len(found) == 2,
        60,
        "both parked",
    )
    reasons = {json.loads(v)["raw_id"]: h["dlq_error"] for v, h in letters.items()}
    assert reasons[unsupported.raw_id].startswith("UnsupportedPayload: "), reasons
    assert "unsupported kind ['channel_post']" in reasons[unsupported.raw_id]
    assert reasons[absurd.raw_id].startswith("UnsupportedPayload: "), reasons
    key_prefix = f"telegram:{ACCOUNT}:{str(base)[:-4]}"
    messages, _ = await eventually(
        lambda: stored(engine, key_prefix), lambda s: s[0] >= len(good), 60, "records behind"
    )
    assert messages == len(good)
    assert all(in_order(t) for t in (await texts_by_conversation(engine, key_prefix)).values())
    assert await metric(port, CONSUMED, outcome="dead_lettered", **labels) == parked_before + 2
