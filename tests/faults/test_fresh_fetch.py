"""A caught-up consumer fetches fresh after each batch (``consuming.drop_prefetched``).

aiokafka sends its next fetch as soon as ``getmany`` hands a batch out, so while the
batch is handled the consumer already holds the few records that had arrived by then,
and the records arriving later wait behind that small batch. After ``drop_prefetched``
the next poll returns the held records and the later ones together, in order, with
nothing skipped or repeated.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from helpdesk_common.consuming import drop_prefetched
from helpdesk_common.topic_admin import ensure_topics


async def _poll_until(consumer: AIOKafkaConsumer, seconds: float) -> list[bytes]:
    """The first non-empty poll's values."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        batch = await consumer.getmany(timeout_ms=200)
        if batch:
            return [r.value or b"" for records in batch.values() for r in records]
    return []


async def _held(consumer: AIOKafkaConsumer, partition: TopicPartition, offsets: int) -> None:
    """Wait until the consumer's background fetch has brought back ``offsets`` records
    (its highwater mark is set from each fetch response)."""
    deadline = time.monotonic() + 10
    while (consumer.highwater(partition) or 0) < offsets:
        assert time.monotonic() < deadline, "the consumer's prefetch never came back"
        await asyncio.sleep(0.01)


async def _run(kafka: str, drop: bool) -> tuple[list[bytes], list[bytes]]:
    topic = f"test.fresh-fetch.{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka, {topic: 1})
    partition = TopicPartition(topic, 0)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka,
        group_id=f"g-{topic}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
    )
    await producer.start()
    await consumer.start()
    try:
        await producer.send_and_wait(topic, b"r1")
        assert await _poll_until(consumer, 30) == [b"r1"]  # the batch being "handled"
        await producer.send_and_wait(topic, b"r2")
        await _held(consumer, partition, 2)  # r2 arrived early and is prefetched
        for value in (b"r3", b"r4"):  # these arrive later in the batch
            await producer.send_and_wait(topic, value)
        await consumer.commit()
        if drop:
            await drop_prefetched(consumer)
        first = await _poll_until(consumer, 10)
        rest: list[bytes] = []
        while len(first) + len(rest) < 3 and (more := await _poll_until(consumer, 5)):
            rest += more
        rest += [v for v in await _poll_until(consumer, 0.5)]  # nothing repeated
        return first, rest
    finally:
        await consumer.stop()
        await producer.stop()


async def test_after_a_batch_the_next_poll_holds_everything_that_arrived(kafka: str) -> None:
    first, rest = await _run(kafka, drop=True)
    assert first == [b"r2", b"r3", b"r4"]
    assert rest == []


async def test_without_it_the_records_held_since_the_batch_began_come_alone(kafka: str) -> None:
    """The behaviour ``drop_prefetched`` exists for: the held record is a batch of its
    own, and the later ones wait for the poll after it."""
    first, rest = await _run(kafka, drop=False)
    assert first == [b"r2"]
    assert rest == [b"r3", b"r4"]
