"""The pipelined batch consumer (``helpdesk_common/pipelined_consuming.py``) on the real
broker: it fetches while a batch is handled, commits only what it handled, keeps each
key's order through retries, poison records, a stop mid-batch and a second member
joining the group. Each test has its own topic and consumer group.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from devstack.probes import eventually, produce_records
from helpdesk_common.consuming import Delivery, RawRecord, RetryPolicy, TransientError
from helpdesk_common.pipelined_consuming import PipelinedBatchConsumer, batch_offsets
from helpdesk_common.records import TicketEvent, TicketEventKind
from helpdesk_common.topic_admin import ensure_topics
from helpdesk_common.topics import Topic

pytestmark = pytest.mark.e2e

PARTITIONS = 3
KEYS = 6
WAIT = 60.0


def record(key: int, seq: int) -> TicketEvent:
    """Record ``seq`` of ticket ``key`` (keyed by ticket: one partition per ticket)."""
    return TicketEvent(
        kind=TicketEventKind.MESSAGE_ADDED,
        ticket_id=key,
        ticket_number=seq,
        correlation_id=f"c-{key}-{seq}",
        event_id=f"e-{key}-{seq}",
        occurred_at=datetime.now(UTC),
    )


def stream(first: int, last: int) -> list[TicketEvent]:
    return [record(k, s) for s in range(first, last) for k in range(KEYS)]


@dataclass
class Handled:
    """What the handler saw, batch by batch, and the dead letters."""

    batches: list[list[tuple[int, int]]] = field(default_factory=list)
    raws: list[RawRecord] = field(default_factory=list)
    parked: list[tuple[RawRecord, str]] = field(default_factory=list)

    @property
    def records(self) -> list[tuple[int, int]]:
        return [r for b in self.batches for r in b]

    def per_key(self) -> dict[int, list[int]]:
        seen: dict[int, list[int]] = {}
        for key, seq in self.records:
            seen.setdefault(key, []).append(seq)
        return seen

    async def park(self, raw: RawRecord, reason: str) -> None:
        self.parked.append((raw, reason))


@pytest.fixture
async def topic(kafka: str) -> Topic:
    made = Topic(f"test.pipelined.{uuid.uuid4().hex[:8]}", TicketEvent, PARTITIONS)
    await ensure_topics(kafka, {made.name: PARTITIONS})
    return made


@pytest.fixture
async def members(kafka: str) -> AsyncIterator[list[PipelinedBatchConsumer[TicketEvent]]]:
    started: list[PipelinedBatchConsumer[TicketEvent]] = []
    yield started
    for member in started:
        await member.stop()


async def start_member(
    kafka: str,
    topic: Topic,
    group: str,
    handled: Handled,
    members: list[PipelinedBatchConsumer[TicketEvent]],
    before: Callable[[list[Delivery[TicketEvent]]], object] | None = None,
    *,
    stop_timeout: float = 15.0,
) -> PipelinedBatchConsumer[TicketEvent]:
    async def handler(batch: list[Delivery[TicketEvent]]) -> None:
        if before is not None:
            outcome = before(batch)
            if asyncio.iscoroutine(outcome):
                await outcome
        handled.batches.append([(d.record.ticket_id, d.record.ticket_number) for d in batch])
        handled.raws.extend(d.raw for d in batch)

    member = PipelinedBatchConsumer(
        bootstrap_servers=kafka,
        topic=topic,
        group_id=group,
        name=f"{group}-{len(members)}",
        handler=handler,
        dead_letter=handled.park,
        retry=RetryPolicy(attempts=2, backoff_seconds=0.01),
        fetch_max_wait_ms=20,
        max_records=50,
        rewind_pause_seconds=0.05,
        stop_timeout_seconds=stop_timeout,
    )
    await member.start()
    members.append(member)
    return member


async def committed(kafka: str, group: str, topic: Topic) -> dict[int, int]:
    """The group's committed offset per partition (0 where nothing is committed)."""
    reader = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=group, enable_auto_commit=False)
    await reader.start()
    try:
        return {
            p: (await reader.committed(TopicPartition(topic.name, p))) or 0
            for p in range(PARTITIONS)
        }
    finally:
        await reader.stop()


def handled_ends(handled: Handled) -> dict[int, int]:
    """Per partition, the offset after the last record the handler saw."""
    ends = dict.fromkeys(range(PARTITIONS), 0)
    ends.update({tp.partition: o for tp, o in batch_offsets(handled.raws).items()})  # type: ignore[arg-type]
    return ends


def in_order_and_complete(handled: Handled, last: int) -> bool:
    return (
        all(seqs == list(range(last)) for seqs in handled.per_key().values())
        and len(handled.per_key()) == KEYS
    )


async def test_fetches_during_a_batch_and_commits_only_what_was_handled(
    kafka: str, topic: Topic, members: list[PipelinedBatchConsumer[TicketEvent]]
) -> None:
    group, handled, release = f"g-{topic.name}", Handled(), asyncio.Event()
    first_batch = asyncio.Event()

    async def hold_first(_: list[Delivery[TicketEvent]]) -> None:
        if not first_batch.is_set():
            first_batch.set()
            await release.wait()

    member = await start_member(kafka, topic, group, handled, members, hold_first)
    await produce_records(kafka, topic.name, stream(0, 1))
    await asyncio.wait_for(first_batch.wait(), WAIT)

    # While the first batch is held, the records produced behind it are fetched and queued,
    # and nothing is committed: neither the batch in progress nor what waits behind it.
    await produce_records(kafka, topic.name, stream(1, 5))
    await eventually(
        lambda: asyncio.sleep(0, member.queued), lambda n: n >= 4 * KEYS - KEYS, WAIT, "queued"
    )
    assert await committed(kafka, group, topic) == dict.fromkeys(range(PARTITIONS), 0)
    assert handled.records == []

    release.set()
    await eventually(
        lambda: asyncio.sleep(0, handled), lambda h: len(h.records) >= 5 * KEYS, WAIT, "handled"
    )
    assert in_order_and_complete(handled, 5), handled.per_key()
    assert len(handled.records) == 5 * KEYS  # each once
    await eventually(
        lambda: committed(kafka, group, topic),
        lambda c: c == handled_ends(handled),
        WAIT,
        "committed = after the last handled record",
    )


async def test_stop_mid_batch_loses_nothing_and_redelivers_only_the_unhandled(
    kafka: str, topic: Topic, members: list[PipelinedBatchConsumer[TicketEvent]]
) -> None:
    group, handled = f"g-{topic.name}", Handled()
    await produce_records(kafka, topic.name, stream(0, 2))
    await start_member(kafka, topic, group, handled, members)
    await eventually(
        lambda: asyncio.sleep(0, handled), lambda h: len(h.records) >= 2 * KEYS, WAIT, "first"
    )

    # The next records hang in the handler; stop gives up on them after its timeout.
    hanging = asyncio.Event()

    async def hang(_: list[Delivery[TicketEvent]]) -> None:
        hanging.set()
        await asyncio.sleep(3600)

    stuck = await start_member(kafka, topic, group, Handled(), [], hang, stop_timeout=0.5)
    await members[0].stop()  # the first member leaves: the stuck one takes every partition
    members.clear()
    await produce_records(kafka, topic.name, stream(2, 4))
    await asyncio.wait_for(hanging.wait(), WAIT)
    await stuck.stop()

    again = Handled()
    await start_member(kafka, topic, group, again, members)
    await eventually(
        lambda: asyncio.sleep(0, again), lambda h: len(h.records) >= 2 * KEYS, WAIT, "rest"
    )
    assert sorted(again.records) == sorted(record_pairs(2, 4))
    assert sorted(handled.records) == sorted(record_pairs(0, 2))


def record_pairs(first: int, last: int) -> list[tuple[int, int]]:
    return [(r.ticket_id, r.ticket_number) for r in stream(first, last)]


async def test_transient_failures_retry_the_batch_in_order_and_poison_is_parked(
    kafka: str, topic: Topic, members: list[PipelinedBatchConsumer[TicketEvent]]
) -> None:
    group, handled = f"g-{topic.name}", Handled()
    failures = {"transient": 3}

    def flaky(batch: list[Delivery[TicketEvent]]) -> None:
        if failures["transient"] > 0:
            failures["transient"] -= 1
            raise TransientError("database away")
        if any(d.record.ticket_id == 2 and d.record.ticket_number == 1 for d in batch):
            raise ValueError("impossible content")

    await produce_records(kafka, topic.name, stream(0, 4))
    await start_member(kafka, topic, group, handled, members, flaky)
    await eventually(
        lambda: asyncio.sleep(0, handled),
        lambda h: len(h.records) >= 4 * KEYS - 1,
        WAIT,
        "all but the poison",
    )
    assert failures["transient"] == 0
    seqs = handled.per_key()
    assert seqs.pop(2) == [0, 2, 3]  # the poison record is out, those behind it went on
    assert all(s == [0, 1, 2, 3] for s in seqs.values()), seqs
    assert len(handled.parked) == 1
    raw, reason = handled.parked[0]
    assert b'"event_id":"e-2-1"' in (raw.value or b"") and "impossible content" in reason
    await eventually(
        lambda: committed(kafka, group, topic),
        lambda c: c == handled_ends(handled),
        WAIT,
        "committed = after the last handled record",
    )


async def test_a_member_joining_mid_stream_shares_the_work_in_order(
    kafka: str, topic: Topic, members: list[PipelinedBatchConsumer[TicketEvent]]
) -> None:
    group, first, second = f"g-{topic.name}", Handled(), Handled()

    async def slow(_: list[Delivery[TicketEvent]]) -> None:
        await asyncio.sleep(0.05)

    await start_member(kafka, topic, group, first, members, slow)
    await produce_records(kafka, topic.name, stream(0, 20))
    await eventually(lambda: asyncio.sleep(0, first), lambda h: len(h.records) > 0, WAIT, "start")
    await start_member(kafka, topic, group, second, members, slow)
    await produce_records(kafka, topic.name, stream(20, 40))
    everyone = Handled()

    async def merged() -> Handled:
        everyone.batches = first.batches + second.batches
        return everyone

    # Every record handled; per key, in order (a record handled again after the partition
    # moved would show as a repeat, which is allowed: idempotency keys absorb it).
    await eventually(merged, lambda h: in_order_and_complete(dedup(h), 40), 2 * WAIT, "all")
    assert second.records, "the joining member got partitions and records"
    assert len(everyone.records) - 40 * KEYS <= 50  # at most one batch handled twice


def dedup(handled: Handled) -> Handled:
    """Per key, repeats removed keeping the first sighting (order of first sightings)."""
    out, seen = Handled(), set()
    for batch in handled.batches:
        out.batches.append([r for r in batch if not (r in seen or seen.add(r))])
    return out


def test_batch_offsets_are_the_next_offset_per_partition() -> None:
    @dataclass
    class R:
        topic: str
        partition: int
        offset: int

    got = batch_offsets([R("t", 0, 4), R("t", 1, 9), R("t", 0, 7), R("t", 0, 5)])  # type: ignore[list-item]
    assert got == {TopicPartition("t", 0): 8, TopicPartition("t", 1): 10}
