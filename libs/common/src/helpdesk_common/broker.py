"""The FastStream Kafka broker factory and the one way records are published."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from faststream.kafka.publisher.state import RealProducer

from . import correlation
from .records import Record
from .settings import ServiceSettings
from .topics import Topic

# Records are small JSON documents; batches of them must fit one producer request.
_MAX_BATCH_BYTES = 1024 * 1024


# No linger: one-at-a-time publishes (webhooks, mails) must not wait; concurrent publishes
# still share requests while one is in flight.
PRODUCER_LINGER_MS = 0


def make_broker(settings: ServiceSettings, **kwargs: Any) -> KafkaBroker:
    """A broker that waits for acks on publish and lets in-flight handlers finish on stop."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
        graceful_timeout=settings.graceful_timeout_seconds,
        acks="all",
        max_batch_size=_MAX_BATCH_BYTES,
        linger_ms=PRODUCER_LINGER_MS,
        # Through our JSON handler; per-message access lines only at DEBUG.
        logger=logging.getLogger("helpdesk.broker"),
        log_level=logging.DEBUG,
        **kwargs,
    )


def record_headers(record: Record, producer: str) -> dict[str, str]:
    return {
        correlation.SCHEMA_HEADER: f"{record.schema_name}.v{record.schema_version}",
        correlation.KAFKA_HEADER: record.correlation_id,
        correlation.PRODUCER_HEADER: producer,
    }


async def publish(broker: KafkaBroker, topic: Topic, record: Record, *, producer: str) -> None:
    """Publish one record keyed for ordering; returns only after the broker acked it."""
    if not isinstance(record, topic.record):
        raise TypeError(
            f"{topic.name} carries {topic.record.__name__}, not {type(record).__name__}"
        )
    await broker.publish(
        record.model_dump_json().encode(),
        topic=topic.name,
        key=record.partition_key().encode(),  # type: ignore[attr-defined]
        headers=record_headers(record, producer),
        correlation_id=record.correlation_id,
    )


async def publish_many(
    broker: KafkaBroker, topic: Topic, records: Iterable[Record], *, producer: str
) -> None:
    """Publish records concurrently (pipelined by the producer); returns when all are acked."""
    await asyncio.gather(*(publish(broker, topic, r, producer=producer) for r in records))


def _aiokafka_producer(broker: KafkaBroker) -> AIOKafkaProducer | None:
    """The connected aiokafka producer under FastStream's, or None (not connected)."""
    state = getattr(getattr(broker.config, "producer", None), "_producer", None)
    return state.producer if isinstance(state, RealProducer) else None


async def publish_encoded(
    broker: KafkaBroker,
    topic: Topic,
    items: Sequence[tuple[Record, bytes]],
    *,
    producer: str,
) -> None:
    """Publish records whose JSON is already at hand (the outbox stores it), keyed and with
    the headers ``publish`` gives them; returns when all are acked.

    Each record goes straight into the aiokafka producer's batches (one ``send`` each,
    awaited only for the enqueueing): no second serialisation, no task and no FastStream
    publish pipeline per record. Falls back to ``publish_many`` on a broker without a
    connected aiokafka producer."""
    kafka = _aiokafka_producer(broker)
    if kafka is None:
        await publish_many(broker, topic, [r for r, _ in items], producer=producer)
        return
    acks = []
    for record, value in items:
        if not isinstance(record, topic.record):
            raise TypeError(
                f"{topic.name} carries {topic.record.__name__}, not {type(record).__name__}"
            )
        # The same headers as FastStream's publish of a bytes body: content type (empty),
        # correlation id, then ours.
        headers = {
            "content-type": "",
            correlation.KAFKA_HEADER: record.correlation_id,
            **record_headers(record, producer),
        }
        acks.append(
            await kafka.send(
                topic.name,
                value,
                key=record.partition_key().encode(),  # type: ignore[attr-defined]
                headers=[(k, v.encode()) for k, v in headers.items()],
            )
        )
    await asyncio.gather(*acks)


async def publish_raw(
    broker: KafkaBroker,
    topic_name: str,
    value: bytes,
    *,
    key: bytes | None,
    headers: Sequence[tuple[str, bytes]],
) -> None:
    """Re-publish bytes unchanged (dead-lettering); header values are decoded for FastStream."""
    await broker.publish(
        value,
        topic=topic_name,
        key=key,
        headers={k: v.decode("utf-8", "replace") for k, v in headers},
    )
