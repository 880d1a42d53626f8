"""The end-to-end benchmark's baseline: one bare broker hop, produce -> consume.

Records go to a fresh 8-partition topic at a steady rate with a plain aiokafka producer
set up as the services' (``acks=all``, ``linger_ms=0``), each carrying its send time; a
plain aiokafka consumer in a consumer group reads them in batches as the services do
(``getmany(timeout_ms=100, max_records=500)``). Latency is the wall time from the send
to the record in the consumer's hands; the producer's ack time is reported beside it.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from helpdesk_common.broker import PRODUCER_LINGER_MS
from helpdesk_common.topic_admin import ensure_topics

from .stats import PacedSchedule, summary_ms

PARTITIONS = 8


async def _assigned(consumer: AIOKafkaConsumer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not consumer.assignment():
        if time.monotonic() > deadline:
            raise TimeoutError("the baseline consumer got no partitions")
        await consumer.getmany(timeout_ms=100)


async def round_trip(
    bootstrap: str, name: str, rate: float, seconds: float, fetch_max_wait_ms: int = 500
) -> dict[str, Any]:
    """One hop at ``rate``/s for ``seconds``. ``fetch_max_wait_ms`` is the consumer's
    long-poll bound (aiokafka's default, 500 ms, is what the services use)."""
    topic = f"bench.rtt.{name}"
    created = await ensure_topics(bootstrap, {topic: PARTITIONS})
    assert created[topic] == PARTITIONS, created
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-rtt-{name}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=fetch_max_wait_ms,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=PRODUCER_LINGER_MS,
        max_batch_size=1 << 20,
    )
    await consumer.start()
    await producer.start()
    total = max(1, int(rate * seconds))
    received: dict[int, float] = {}
    acked: dict[int, float] = {}
    sent: dict[int, float] = {}
    try:
        await _assigned(consumer, 60)

        async def consume() -> None:
            while len(received) < total:
                batch = await consumer.getmany(timeout_ms=100, max_records=500)
                now = time.time()
                for records in batch.values():
                    for record in records:
                        received[json.loads(record.value)["i"]] = now
                if batch:
                    await consumer.commit()

        async def send(i: int) -> None:
            sent[i] = time.time()
            await producer.send_and_wait(
                topic, json.dumps({"i": i, "pad": "x" * 600}).encode(), key=str(i).encode()
            )
            acked[i] = time.time()

        reader = asyncio.create_task(consume())
        schedule = PacedSchedule(time.perf_counter(), rate, total)
        sends: list[asyncio.Task[None]] = []
        while not schedule.done:
            await asyncio.sleep(schedule.seconds_to_next(time.perf_counter()))
            sends += [asyncio.create_task(send(i)) for i in schedule.take_due(time.perf_counter())]
        await asyncio.gather(*sends)
        await asyncio.wait_for(reader, 60)
    finally:
        await producer.stop()
        await consumer.stop()
    return {
        "records": total,
        "rate": rate,
        "fetch_max_wait_ms": fetch_max_wait_ms,
        "produce_to_consume": summary_ms((received[i] - sent[i]) * 1000 for i in sent),
        "produce_to_ack": summary_ms((acked[i] - sent[i]) * 1000 for i in sent),
    }
