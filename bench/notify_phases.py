"""The notification benchmark's timed phases: the raw broker baseline (plain aiokafka)
and the notifier (events produced until every notice reached the SMTP sink and the fake
Twilio, and nothing arrives twice)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from devstack.probes import produce_records
from devstack.test_system import Fakes
from helpdesk_common.records import TicketEvent
from helpdesk_common.topic_admin import ensure_topics
from helpdesk_common.topics import TICKET_EVENTS

from . import machine
from .notify_setup import CHANNELS, CountingSink

PARTITIONS = 8


async def broker_baseline(
    bootstrap: str, records: list[TicketEvent], name: str, timeout: float
) -> dict[str, Any]:
    """Produce and consume the records with plain aiokafka, concurrently."""
    topic = f"bench.notify.{name}"
    await ensure_topics(bootstrap, {topic: PARTITIONS})
    payloads = [(r.partition_key().encode(), r.model_dump_json().encode()) for r in records]
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-notify-{name}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=1 << 20)
    await consumer.start()
    await producer.start()
    try:
        # Join the group first (not timed): one empty poll assigns the partitions.
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=200)
        started = time.perf_counter()

        async def produce() -> float:
            futures = [await producer.send(topic, value, key=key) for key, value in payloads]
            await asyncio.gather(*futures)
            return time.perf_counter() - started

        producing = asyncio.create_task(produce())
        consumed = 0
        deadline = time.monotonic() + timeout
        while consumed < len(payloads):
            if time.monotonic() > deadline:
                raise TimeoutError(f"baseline consumed {consumed}/{len(payloads)}")
            fetched = await consumer.getmany(timeout_ms=500, max_records=500)
            got = sum(len(part) for part in fetched.values())
            if got:
                consumed += got
                await consumer.commit()
        seconds = time.perf_counter() - started
        produce_seconds = await producing
    finally:
        await producer.stop()
        await consumer.stop()
    return {
        "records": len(payloads),
        "seconds": seconds,
        "rate": len(payloads) / seconds,
        "produce_seconds": produce_seconds,
    }


async def notifier_phase(
    bootstrap: str,
    events: list[TicketEvent],
    fanout: int,
    sink: CountingSink,
    fakes: Fakes,
    cpu: dict[str, int],
    timeout: float,
) -> dict[str, Any]:
    email_before, sms_before = sink.count, len(fakes.twilio.calls_of("messages.create"))
    want = len(events) * fanout // CHANNELS
    cpu_before = cpu_seconds(cpu)
    started = time.perf_counter()
    await produce_records(bootstrap, TICKET_EVENTS.name, events)
    produce_seconds = time.perf_counter() - started
    deadline = time.monotonic() + timeout
    first_half: float | None = None
    while True:
        emails = sink.count - email_before
        sms = len(fakes.twilio.calls_of("messages.create")) - sms_before
        if first_half is None and emails + sms >= want:
            first_half = time.perf_counter() - started
        if emails >= want and sms >= want:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"notifier: {emails} emails, {sms} SMS of {want} each")
        await asyncio.sleep(0.05)
    seconds = time.perf_counter() - started
    cpu_used = {k: v - cpu_before[k] for k, v in cpu_seconds(cpu).items()}
    await asyncio.sleep(1.0)  # anything sent twice would arrive now
    emails = sink.count - email_before
    sms = len(fakes.twilio.calls_of("messages.create")) - sms_before
    assert (emails, sms) == (want, want), f"sent twice? {emails} emails, {sms} SMS, {want} each"
    notices = emails + sms
    return {
        "events": len(events),
        "fanout": fanout,
        "notifications": notices,
        "emails": emails,
        "sms": sms,
        "seconds": seconds,
        "rate": notices / seconds,
        "events_per_second": len(events) / seconds,
        "half_seconds": first_half,
        "produce_seconds": produce_seconds,
        "cpu_seconds": cpu_used,
    }


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    found = {name: machine.cpu_seconds(pid) for name, pid in pids.items()}
    found["bench"] = machine.self_cpu_seconds()
    return found
