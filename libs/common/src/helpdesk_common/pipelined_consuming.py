"""A batch consumer that fetches the next records while it handles the current batch.

Why (docs/ingest-performance.md, fourth round): aiokafka fetches a partition again only
once ``getmany`` has taken the records it holds for that partition. A subscriber that
handles each batch between two ``getmany`` calls (FastStream's batch subscriber) leaves
the records that arrive during a batch in the broker until that batch ends, so a record
waits for about two batches before its own starts: with handling time W the latency is
about 3 W. Here one task takes records from aiokafka as they arrive and queues them; a
second task handles everything queued as one batch, then commits exactly the offsets it
handled. A record then waits for the batch in progress and its own: about 2 W.

The contract of ``consuming.py`` (DESIGN.md) holds:

- offsets are committed only after the batch's work is durable, and only the batch's own
  (explicit offsets per partition): records queued behind it are not committed;
- records of one partition are handled in offset order, one batch at a time;
- ``process_batch`` decodes, retries, and parks poison records in ``<topic>.dlq``;
- an infrastructure failure (``is_transient``) retries the same batch after a pause,
  with the records behind it waiting: what a rewind does, without fetching again.

Rebalance: when partitions are revoked, the records queued for them are dropped (the next
owner reads them from the committed offset) and the batch in progress ends (handled and
committed, or given up after one failed attempt) before the group moves on. Records from
a ``getmany`` that straddled the rebalance belong to the old assignment and are dropped.

The queue is bounded (``queued_records``): when it is full the fetching task waits, and
aiokafka stops fetching the partitions whose records it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any, Generic

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata, TopicPartition

from .consuming import (
    BatchHandler,
    DeadLetter,
    R,
    RetryPolicy,
    default_is_transient,
    process_batch,
)
from .logs import get_logger
from .topics import Topic

log = get_logger(__name__)
_FETCH_ERROR_PAUSE = 1.0


def batch_offsets(records: Sequence[ConsumerRecord[Any, Any]]) -> dict[TopicPartition, int]:
    """The offsets to commit once ``records`` are handled: per partition, the next one."""
    offsets: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
    return offsets


class PipelinedBatchConsumer(Generic[R]):
    """One member of ``group_id`` on ``topic``; ``start`` after the service's broker is
    connected (dead letters are published through it), ``stop`` before it stops."""

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topic: Topic,
        group_id: str,
        name: str,
        handler: BatchHandler[R],
        dead_letter: DeadLetter,
        retry: RetryPolicy,
        is_transient: Callable[[BaseException], bool] = default_is_transient,
        fetch_max_wait_ms: int = 100,
        max_records: int = 500,
        queued_records: int = 1000,
        rewind_pause_seconds: float = 1.0,
        stop_timeout_seconds: float = 15.0,
    ) -> None:
        self.name = name
        self._bootstrap = bootstrap_servers
        self._topic = topic
        self._record_type: type[R] = topic.record  # type: ignore[assignment]
        self._group_id = group_id
        self._handler = handler
        self._dead_letter = dead_letter
        self._retry = retry
        self._is_transient = is_transient
        self._fetch_wait = fetch_max_wait_ms
        self._max_records = max_records
        self._max_queued = max(queued_records, max_records)
        self._rewind_pause = rewind_pause_seconds
        self._stop_timeout = stop_timeout_seconds
        self._consumer: AIOKafkaConsumer | None = None
        self._queued: list[ConsumerRecord[Any, Any]] = []
        self._arrived = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()
        self._generation = 0  # incremented when partitions are revoked
        self._busy = asyncio.Lock()  # held while a batch is handled and committed
        self._idle = asyncio.Event()  # set when no batch is being handled
        self._fetching: asyncio.Task[None] | None = None
        self._working: asyncio.Task[None] | None = None

    @property
    def queued(self) -> int:
        """Records fetched and waiting for a batch."""
        return len(self._queued)

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=self._group_id,
            client_id=self.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self._fetch_wait,
        )
        consumer.subscribe([self._topic.name], listener=_Listener(self))
        await consumer.start()
        self._consumer = consumer
        self._fetching = _supervised(self._fetch(consumer), f"{self.name}.fetch")
        self._working = _supervised(self._work(consumer), f"{self.name}.work")

    async def stop(self) -> None:
        """Stop fetching, let the batch in progress end (up to the stop timeout; a batch cut
        short is not committed, so it is read again), then leave the group."""
        if self._fetching is not None:
            await _cancel(self._fetching)
        if self._working is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._stop_timeout):
                    await self._busy.acquire()
                    self._busy.release()
            await _cancel(self._working)
        if self._consumer is not None:
            await self._consumer.stop()
        self._fetching = self._working = self._consumer = None

    # --- fetching ---------------------------------------------------------------------

    async def _fetch(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            await self._space.wait()
            if self._busy.locked():
                # While a batch is handled, fetch at most once per fetch wait: the records
                # arriving meanwhile are then a few fetches, not one round trip each.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._fetch_wait / 1000):
                        await self._idle.wait()
            generation = self._generation
            try:
                found = await consumer.getmany(
                    timeout_ms=self._fetch_wait, max_records=self._max_records
                )
            except KafkaError as exc:
                log.warning("fetch_failed", topic=self._topic.name, error=str(exc)[:300])
                await asyncio.sleep(_FETCH_ERROR_PAUSE)
                continue
            if not found or generation != self._generation:
                continue  # nothing, or fetched for an assignment that was revoked since
            for records in found.values():
                self._queued.extend(records)
            self._arrived.set()
            if len(self._queued) >= self._max_queued:
                self._space.clear()

    def _take(self) -> list[ConsumerRecord[Any, Any]]:
        """Everything queued, or the first ``max_records`` of it (whole partitions' runs
        stay in order either way: the queue keeps offset order per partition)."""
        batch, self._queued = (
            self._queued[: self._max_records],
            self._queued[self._max_records :],
        )
        if not self._queued:
            self._arrived.clear()
        if len(self._queued) < self._max_queued:
            self._space.set()
        return batch

    # --- handling ---------------------------------------------------------------------

    async def _work(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            await self._arrived.wait()
            async with self._busy:
                self._idle.clear()
                batch = self._take()
                if batch:
                    await self._handle(consumer, batch, self._generation)
            self._idle.set()

    async def _handle(
        self, consumer: AIOKafkaConsumer, batch: list[ConsumerRecord[Any, Any]], generation: int
    ) -> None:
        while True:
            try:
                await process_batch(
                    batch,
                    record_type=self._record_type,
                    handler=self._handler,
                    dead_letter=self._dead_letter,
                    retry=self._retry,
                    is_transient=self._is_transient,
                )
                break
            except Exception as exc:
                log.error(
                    "batch_rewound", topic=self._topic.name, size=len(batch), error=str(exc)[:300]
                )
                await asyncio.sleep(self._rewind_pause)
                if generation != self._generation:
                    log.warning("batch_left_to_next_owner", topic=self._topic.name, size=len(batch))
                    return
        offsets = batch_offsets(batch)
        try:
            await consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in offsets.items()})
        except (CommitFailedError, IllegalStateError, KafkaError) as exc:
            # The group moved the partitions on (the next owner reads the batch again and
            # finds it stored: idempotency keys), or the broker failed the commit (the next
            # batch's commit covers these offsets too).
            log.warning("offsets_not_committed", topic=self._topic.name, error=str(exc)[:300])

    # --- rebalance --------------------------------------------------------------------

    async def revoked(self, partitions: set[TopicPartition]) -> None:
        self._generation += 1
        self._queued = []
        self._arrived.clear()
        self._space.set()
        async with self._busy:  # the batch in progress has ended
            pass
        log.info("consumer_partitions_revoked", member=self.name, partitions=_names(partitions))

    def assigned(self, partitions: set[TopicPartition]) -> None:
        log.info(
            "consumer_partitions_assigned",
            member=self.name,
            group=self._group_id,
            partitions=_names(partitions),
        )


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: PipelinedBatchConsumer[Any]) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._consumer.revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._consumer.assigned(assigned)


def _names(partitions: set[TopicPartition]) -> list[str]:
    return sorted(f"{tp.topic}/{tp.partition}" for tp in partitions)


def _supervised(work: Any, name: str) -> asyncio.Task[None]:
    """A task that logs if it ever ends with an error (it should run until cancelled)."""
    task: asyncio.Task[None] = asyncio.create_task(work, name=name)

    def report(done: asyncio.Task[None]) -> None:
        if not done.cancelled() and done.exception() is not None:
            log.error("consumer_task_failed", task=name, error=repr(done.exception())[:300])

    task.add_done_callback(report)
    return task


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
