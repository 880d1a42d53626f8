"""Batch consumption with bounded retries and a dead-letter topic.

The contract (DESIGN.md): an offset is committed only after the batch's work is durable;
a record that keeps failing is parked in ``<topic>.dlq`` with its reason and the
partition moves on; an infrastructure failure (database or broker down) is not the
record's fault, so nothing is dead-lettered: the batch is rewound and tried again.

``process_batch`` is plain logic, testable without a broker; ``subscribe_batches`` wires
it to a FastStream subscriber with manual acknowledgement.

Fresh fetches (``drop_prefetched``): aiokafka fetches a partition again only once
``getmany`` has taken what it holds for it, and it sends that fetch as soon as a batch
is taken. So while a batch is handled the consumer holds only the few records that had
arrived when the batch began, and a record arriving during the batch waits for that
small batch too before its own: about two batches in all. Once a batch is committed and
was not full (the consumer has caught up), the held records are dropped by seeking each
partition to its own position, and the next poll fetches everything that arrived
meanwhile in one batch. Nothing is skipped or repeated (a seek to the position is where
the consumer would read next anyway); the dropped records are simply fetched again. A
full batch means a backlog, and then the held records are kept, since fetching while
handling is what keeps a backlog moving.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import IllegalStateError
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy
from prometheus_client import Counter
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import correlation
from .broker import publish_raw
from .logs import get_logger
from .records import Record, decode_json
from .settings import ServiceSettings
from .topics import Topic

R = TypeVar("R", bound=Record)
log = get_logger(__name__)

CONSUMED = Counter("helpdesk_records_consumed_total", "Records handled", ["topic", "outcome"])
BATCH_FAILURES = Counter("helpdesk_batch_failures_total", "Failed batch attempts", ["topic"])
_MAX_REASON = 2000


class RawRecord(Protocol):
    """The parts of an aiokafka ``ConsumerRecord`` this module reads."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


@dataclass(frozen=True)
class Delivery(Generic[R]):
    """A decoded record together with where it came from."""

    record: R
    raw: RawRecord

    @property
    def correlation_id(self) -> str:
        return self.record.correlation_id


class TransientError(Exception):
    """Raised (or mapped to) when infrastructure, not the record, is at fault."""


def default_is_transient(exc: BaseException) -> bool:
    # redis-py's connection and timeout errors are not the builtin ones: a Redis that is
    # down (or still loading its data after a restart) is infrastructure, not the record.
    return isinstance(
        exc,
        TransientError
        | ConnectionError
        | TimeoutError
        | OSError
        | RedisConnectionError
        | RedisTimeoutError,
    )


DeadLetter = Callable[[RawRecord, str], Awaitable[None]]
BatchHandler = Callable[[list[Delivery[R]]], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    backoff_seconds: float = 0.2

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Exponential backoff with jitter: ``backoff * 2**attempt`` times 0.5-1.5, so
        replicas retrying the same failure do not hit the provider in step."""
        return float(self.backoff_seconds * 2.0**attempt * (0.5 + rand()))


def decode(raw: RawRecord, record_type: type[R]) -> R:
    if raw.value is None:
        raise ValueError("empty record value")
    return decode_json(record_type, raw.value)


async def _attempt(
    handler: BatchHandler[R], batch: list[Delivery[R]], retry: RetryPolicy, topic: str
) -> BaseException | None:
    error: BaseException | None = None
    for attempt in range(retry.attempts):
        try:
            await handler(batch)
            return None
        except Exception as exc:
            error = exc
            BATCH_FAILURES.labels(topic).inc()
            log.warning(
                "batch_attempt_failed",
                topic=topic,
                size=len(batch),
                attempt=attempt + 1,
                error=f"{type(exc).__name__}: {exc}"[:300],
            )
            if attempt + 1 < retry.attempts:
                await asyncio.sleep(retry.delay(attempt))
    return error


async def process_batch(
    raws: Sequence[RawRecord],
    *,
    record_type: type[R],
    handler: BatchHandler[R],
    dead_letter: DeadLetter,
    retry: RetryPolicy = RetryPolicy(),
    is_transient: Callable[[BaseException], bool] = default_is_transient,
) -> None:
    """Handle a batch; returns when every record is either handled or dead-lettered.

    Raises the error when it is transient: the caller must then rewind, not commit.
    """
    if not raws:
        return
    topic = raws[0].topic
    deliveries: list[Delivery[R]] = []
    for raw in raws:
        try:
            deliveries.append(Delivery(decode(raw, record_type), raw))
        except (ValidationError, ValueError) as exc:
            await dead_letter(raw, f"undecodable {record_type.schema_name}: {exc}")
            CONSUMED.labels(topic, "dead_lettered").inc()
    if not deliveries:
        return
    error = await _attempt(handler, deliveries, retry, topic)
    if error is None:
        CONSUMED.labels(topic, "handled").inc(len(deliveries))
        return
    if is_transient(error):
        raise error
    # The batch keeps failing: find the poison records one by one.
    for delivery in deliveries:
        single_error = await _attempt(handler, [delivery], RetryPolicy(1, 0), topic)
        if single_error is None:
            CONSUMED.labels(topic, "handled").inc()
            continue
        if is_transient(single_error):
            raise single_error
        with correlation.bound(delivery.correlation_id):
            await dead_letter(delivery.raw, f"{type(single_error).__name__}: {single_error}")
        CONSUMED.labels(topic, "dead_lettered").inc()


def dead_letter_to(broker: KafkaBroker, topic: Topic) -> DeadLetter:
    """A dead-letter sink that parks the original bytes in ``<topic>.dlq`` with the reason."""

    async def park(raw: RawRecord, reason: str) -> None:
        headers = [
            *(raw.headers or ()),
            (correlation.ERROR_HEADER, reason[:_MAX_REASON].encode()),
            (correlation.SOURCE_HEADER, f"{raw.topic}/{raw.partition}/{raw.offset}".encode()),
        ]
        await publish_raw(broker, topic.dlq, raw.value or b"", key=raw.key, headers=headers)
        log.error(
            "record_dead_lettered",
            topic=raw.topic,
            partition=raw.partition,
            offset=raw.offset,
            reason=reason[:300],
            correlation_id=correlation.header_value(raw.headers, correlation.KAFKA_HEADER),
        )

    return park


async def drop_prefetched(consumer: AIOKafkaConsumer) -> None:
    """Drop what the consumer holds beyond the records it has handed out: each assigned
    partition is sought to its own position (see the module's docstring)."""
    for partition in consumer.assignment():
        try:
            consumer.seek(partition, await consumer.position(partition))
        except IllegalStateError:  # revoked meanwhile: its new owner reads from the commit
            continue


async def _skip_decoding(_: Any) -> None:
    """Records are decoded by ``process_batch``; FastStream's own JSON decoding is skipped.

    A coroutine function on purpose: FastStream runs a plain function as a decoder in a
    worker thread, a thread hand-off (and a fight for the GIL) on every batch."""
    return None


def subscribe_batches(
    broker: KafkaBroker,
    topic: Topic,
    *,
    group_id: str,
    handler: BatchHandler[R],
    settings: ServiceSettings,
    is_transient: Callable[[BaseException], bool] = default_is_transient,
    fetch_max_wait_ms: int | None = None,
) -> None:
    """Subscribe ``handler`` to ``topic`` in batches; commit after each handled batch.

    ``fetch_max_wait_ms`` overrides ``settings.consumer_fetch_max_wait_ms`` for this
    subscription (a consumer on a latency path waits less); an empty poll then also waits
    no longer than that before the next one."""
    record_type: type[R] = topic.record  # type: ignore[assignment]
    retry = RetryPolicy(settings.consumer_retry_attempts, settings.consumer_retry_backoff_seconds)
    dead_letter = dead_letter_to(broker, topic)
    fetch_wait = (
        settings.consumer_fetch_max_wait_ms if fetch_max_wait_ms is None else fetch_max_wait_ms
    )

    @broker.subscriber(
        topic.name,
        group_id=group_id,
        batch=True,
        max_records=settings.consumer_max_records,
        batch_timeout_ms=min(100, fetch_wait),
        fetch_max_wait_ms=fetch_wait,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        decoder=_skip_decoding,
        title=f"{group_id}:{topic.name}",
    )
    async def consume(_: Any) -> None:
        # from the context directly: a parameter injected from it (``message:
        # KafkaMessage``) is resolved by FastDepends in a worker thread, on every batch
        message: KafkaMessage = broker.context.get_local("message")
        raws = message.raw_message
        batch = raws if isinstance(raws, tuple) else (raws,)
        try:
            await process_batch(
                batch,
                record_type=record_type,
                handler=handler,
                dead_letter=dead_letter,
                retry=retry,
                is_transient=is_transient,
            )
        except Exception as exc:
            log.error("batch_rewound", topic=topic.name, size=len(batch), error=str(exc)[:300])
            await asyncio.sleep(retry.backoff_seconds * 5)
            await message.nack()
            return
        if len(batch) < settings.consumer_max_records:
            # before the offset commit: the fresh fetch's round trip overlaps it (a seek
            # to the position changes nothing the commit writes)
            await drop_prefetched(message.consumer)
        await message.ack()
