"""Re-publish parked records from ``<topic>.dlq`` to ``<topic>`` after a fix.

``python -m helpdesk_common.dlq_replay inbound.messages.v1 [--dry-run] [--max N]``

The original value, key and headers go back to the original topic (the ``dlq_*``
headers are dropped, a ``dlq_replayed_from`` header says where the record was parked).
Replay reads the dead-letter topic with its own consumer group and commits after the
re-published records are acked, so each parked record is replayed once; consumers are
idempotent, so a record replayed twice after a crash is still stored once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from . import correlation
from .topics import DLQ_SUFFIX

REPLAY_GROUP = "dlq-replay"
_DROPPED = (correlation.ERROR_HEADER, correlation.SOURCE_HEADER)


@dataclass
class ReplayResult:
    replayed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


async def replay(
    bootstrap: str,
    topic: str,
    *,
    dry_run: bool = False,
    max_records: int | None = None,
    assignment_timeout: float = 60.0,
) -> ReplayResult:
    """Replay what is parked when it starts (up to the end offsets it sees then)."""
    if topic.endswith(DLQ_SUFFIX):
        topic = topic[: -len(DLQ_SUFFIX)]
    dlq = topic + DLQ_SUFFIX
    consumer = AIOKafkaConsumer(
        dlq,
        bootstrap_servers=bootstrap,
        group_id=REPLAY_GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    result = ReplayResult()
    try:
        ends = await _parked_now(consumer, dlq, assignment_timeout)
        while not await _caught_up(consumer, ends):
            if max_records is not None and result.replayed >= max_records:
                break
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            records = [r for part in batch.values() for r in part]
            if max_records is not None:
                records = records[: max_records - result.replayed]
            await _republish(producer, topic, records, result, dry_run)
            if records and not dry_run:
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()
    return result


async def _parked_now(
    consumer: AIOKafkaConsumer, dlq: str, timeout: float
) -> dict[TopicPartition, int]:
    """Wait for the group to assign the partitions; their end offsets bound this replay."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not consumer.assignment():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"no partition of {dlq} assigned within {timeout:.0f}s")
        await consumer.getmany(timeout_ms=200, max_records=1)  # drives the group join
        for part in consumer.assignment():  # anything fetched meanwhile is read again
            committed = await consumer.committed(part)
            if committed is None:
                await consumer.seek_to_beginning(part)
            else:
                consumer.seek(part, committed)
    return dict(await consumer.end_offsets(list(consumer.assignment())))


async def _caught_up(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for part, end in ends.items():
        if await consumer.position(part) < end:
            return False
    return True


async def _republish(
    producer: AIOKafkaProducer,
    topic: str,
    records: list[ConsumerRecord[bytes, bytes]],
    result: ReplayResult,
    dry_run: bool,
) -> None:
    sends = []
    for record in records:
        reason = (correlation.header_value(record.headers, correlation.ERROR_HEADER) or "?")[:120]
        result.reasons[reason] = result.reasons.get(reason, 0) + 1
        result.replayed += 1
        if dry_run:
            continue
        headers = [(k, v) for k, v in record.headers if k not in _DROPPED]
        source = correlation.header_value(record.headers, correlation.SOURCE_HEADER) or ""
        headers.append(("dlq_replayed_from", source.encode()))
        sends.append(await producer.send(topic, record.value, key=record.key, headers=headers))
    await asyncio.gather(*sends)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("topic", help="the original topic, e.g. inbound.messages.v1")
    parser.add_argument("--dry-run", action="store_true", help="count and show reasons only")
    parser.add_argument("--max", type=int, default=None, dest="max_records")
    args = parser.parse_args(argv)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    result = asyncio.run(
        replay(bootstrap, args.topic, dry_run=args.dry_run, max_records=args.max_records)
    )
    verb = "would replay" if args.dry_run else "replayed"
    sys.stdout.write(f"{verb} {result.replayed} record(s) to {args.topic}\n")
    for reason, count in sorted(result.reasons.items(), key=lambda kv: -kv[1]):
        sys.stdout.write(f"  {count:6d}  {reason}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
