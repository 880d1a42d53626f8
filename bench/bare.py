"""The baseline: the same records through a bare consume -> batched INSERT -> commit loop.

This is the floor any consumer on this machine pays: the broker fetch, one PostgreSQL
transaction per batch (with fsync) and one offset commit per batch. No validation, no
domain logic, no ORM. ticket-core's rate is reported as a ratio of this one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer
from devstack.probes import produce_records
from helpdesk_common.records import InboundMessage
from helpdesk_common.topic_admin import ensure_topics

BATCH = 500
PARTITIONS = 8
TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS bench_bare"
    " (idempotency_key text PRIMARY KEY, payload jsonb NOT NULL)"
)
INSERT = "INSERT INTO bench_bare (idempotency_key, payload) VALUES ($1, $2) ON CONFLICT DO NOTHING"


@dataclass
class BareResult:
    topic: str
    records: int
    batches: int
    produce_seconds: float
    produce_rate: float
    seconds: float
    rate: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


async def run_bare(
    bootstrap: str, dsn: str, records: Sequence[InboundMessage], name: str, timeout: float = 300.0
) -> BareResult:
    """Produce ``records`` to a fresh topic, then consume and store them; time the consume side."""
    topic = f"bench.bare.{name}"
    created = await ensure_topics(bootstrap, {topic: PARTITIONS})
    assert created[topic] == PARTITIONS, created
    started = time.perf_counter()
    produced = await produce_records(bootstrap, topic, records)
    produce_seconds = time.perf_counter() - started

    conn = await asyncpg.connect(dsn)
    await conn.execute(TABLE_DDL)
    await conn.execute("TRUNCATE bench_bare")
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-bare-{name}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    stored = batches = 0
    first: float | None = None
    deadline = time.monotonic() + timeout
    try:
        while stored < produced:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"bare pipeline stored {stored}/{produced} within {timeout:.0f}s"
                )
            fetched = await consumer.getmany(timeout_ms=1000, max_records=BATCH)
            rows = [
                (json.loads(m.value)["idempotency_key"], m.value.decode())
                for part in fetched.values()
                for m in part
                if m.value is not None
            ]
            if not rows:
                continue
            if first is None:
                first = time.perf_counter()
            async with conn.transaction():
                await conn.executemany(INSERT, rows)
            await consumer.commit()
            stored += len(rows)
            batches += 1
        seconds = time.perf_counter() - (first or time.perf_counter())
    finally:
        await consumer.stop()
        await conn.close()
    in_table = await _count(dsn)
    assert in_table == produced, f"bench_bare holds {in_table}, expected {produced}"
    return BareResult(
        topic=topic,
        records=produced,
        batches=batches,
        produce_seconds=produce_seconds,
        produce_rate=produced / produce_seconds,
        seconds=seconds,
        rate=produced / seconds,
    )


async def _count(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM bench_bare"))
    finally:
        await conn.close()
