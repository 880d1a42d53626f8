"""A batch consumer decodes its records on the event loop, never in a worker thread.

FastStream runs a plain (non-async) decoder in an AnyIO worker thread. The batch
consumers skip FastStream's decoding (``process_batch`` decodes the records), and the
skipping decoder is a coroutine function so that no batch pays a thread hand-off.
"""

from __future__ import annotations

import asyncio
import threading
import uuid

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from helpdesk_common.consuming import Delivery, subscribe_batches
from helpdesk_common.records import DeliveryEvent, DeliveryState
from helpdesk_common.settings import ServiceSettings
from helpdesk_common.topic_admin import ensure_topics
from helpdesk_common.topics import Topic


def _worker_threads(loop: asyncio.AbstractEventLoop) -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t.name == "AnyIO worker thread" and getattr(t, "loop", None) is loop
    ]


async def test_a_batch_is_handled_without_a_worker_thread(kafka: str) -> None:
    topic = Topic(f"test.decoding.{uuid.uuid4().hex[:8]}", DeliveryEvent, partitions=1)
    await ensure_topics(kafka, {topic.name: 1, topic.dlq: 1})
    received: list[DeliveryEvent] = []
    done = asyncio.Event()

    async def handler(batch: list[Delivery[DeliveryEvent]]) -> None:
        received.extend(d.record for d in batch)
        if len(received) >= 3:
            done.set()

    broker = KafkaBroker(kafka)
    settings = ServiceSettings(kafka_bootstrap_servers=kafka, consumer_fetch_max_wait_ms=20)
    subscribe_batches(broker, topic, group_id=f"g-{topic.name}", handler=handler, settings=settings)
    events = [DeliveryEvent(outbound_id=f"o{i}", state=DeliveryState.SENT) for i in range(3)]
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await broker.start()
    await producer.start()
    try:
        for e in events:
            await producer.send_and_wait(topic.name, e.model_dump_json().encode(), key=b"k")
        await asyncio.wait_for(done.wait(), 30)
    finally:
        await producer.stop()
        await broker.stop()
    assert [e.outbound_id for e in received] == ["o0", "o1", "o2"]
    assert _worker_threads(asyncio.get_running_loop()) == []
