"""Helpers that look at a running system from outside: produce, read topics, poll.

Used by the end-to-end tests and the benchmarks; not part of any service.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from helpdesk_common.broker import record_headers
from helpdesk_common.records import Record
from prometheus_client.parser import text_string_to_metric_families

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], timeout: float, what: str
) -> T:
    """Poll ``probe`` until ``check`` holds; fail with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    value = await probe()
    while not check(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {timeout:.0f}s")
        await asyncio.sleep(0.2)
        value = await probe()
    return value


async def produce_records(bootstrap: str, topic: str, records: Iterable[Record]) -> int:
    """Produce records as the services do (key, headers), pipelined; returns the count."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=1 << 20)
    await producer.start()
    try:
        futures = []
        for record in records:
            headers = [(k, v.encode()) for k, v in record_headers(record, "test").items()]
            futures.append(
                await producer.send(
                    topic,
                    record.model_dump_json().encode(),
                    key=record.partition_key().encode(),  # type: ignore[attr-defined]
                    headers=headers,
                )
            )
        await asyncio.gather(*futures)
        return len(futures)
    finally:
        await producer.stop()


async def produce_raw(bootstrap: str, topic: str, value: bytes, key: bytes | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def end_offsets(bootstrap: str, topic: str) -> int:
    """Total records ever written to a topic (sum of partition end offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        return sum(ends.values())
    finally:
        await consumer.stop()


async def read_topic(
    bootstrap: str, topic: str, timeout: float = 5.0
) -> Sequence[ConsumerRecord[bytes, bytes]]:
    """Every record currently in a topic, from the beginning (no consumer group)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            if not batch and records:
                break
            for part in batch.values():
                records.extend(part)
        return records
    finally:
        await consumer.stop()


async def metric(port: int, name: str, **labels: str) -> float:
    """One sample of a service's Prometheus ``/metrics`` (0 when it has none yet)."""
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(f"http://127.0.0.1:{port}/metrics")
    response.raise_for_status()
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def group_lag(bootstrap: str, group: str, topic: str) -> int:
    """Records of ``topic`` that consumer group ``group`` has not committed yet.

    Counted per partition, and a partition whose committed offset is past the end offset
    the broker reports counts 0, not less: with the embedded broker (Tansu) a group's
    commit was seen one or two past the reported end offset after two replicas had
    produced to and consumed from the topic at once, and a negative partition must not hide a
    positive one in the sum (nor keep the sum below 0 for ever)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        ends = await consumer.end_offsets(tps)
        lag = 0
        for tp in tps:
            committed = await consumer.committed(tp)
            lag += max(0, ends[tp] - (committed or 0))
        return lag
    finally:
        await consumer.stop()
