"""Publishes outbox rows to the broker, then commits their deletion.

A background task publishes pending rows as soon as a committed batch notifies it (the
consumer does not wait for that), and every few seconds anyway, which also picks up
rows a crashed process left behind. Rows are locked with SKIP LOCKED while being published,
so two replicas do not publish the same row at the same time. Delivery stays
at-least-once (a crash between the broker ack and the delete republishes a row):
consumers deduplicate on ``event_id``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from faststream.kafka import KafkaBroker
from helpdesk_common.broker import publish_encoded
from helpdesk_common.logs import get_logger
from helpdesk_common.topics import ALL_TOPICS, Topic
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import repository as repo

log = get_logger(__name__)
_TOPICS: dict[str, Topic] = {t.name: t for t in ALL_TOPICS}
# Rows per flush. An inbound batch's row holds up to about 1,100 events (500 records, 2.2
# events each), so 50 rows bound one flush to about 55,000 records after a long backlog.
_SWEEP_LIMIT = 50


class OutboxRelay:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], broker: KafkaBroker, producer: str
    ) -> None:
        self._sessions = sessions
        self._broker = broker
        self._producer = producer
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """Rows were committed: publish them soon, without making the caller wait."""
        self._wake.set()

    async def flush(self, ids: Sequence[int] | None = None) -> int:
        """Publish the given rows (or any pending rows); returns how many were published."""
        if ids is not None and not ids:
            return 0
        async with self._sessions() as session, session.begin():
            rows = await repo.take_outbox(session, ids, len(ids) if ids else _SWEEP_LIMIT)
            if not rows:
                return 0
            by_topic: dict[str, list[str]] = {}
            for _, topic_name, payload in rows:  # a row holds one record per line
                by_topic.setdefault(topic_name, []).extend(payload.split("\n"))
            for topic_name, payloads in by_topic.items():
                topic = _TOPICS[topic_name]
                # validated (key, correlation id, and a row must still be a record), then
                # published as stored
                items = [
                    (topic.record.model_validate_json(data), data)
                    for data in (p.encode() for p in payloads)
                ]
                await publish_encoded(self._broker, topic, items, producer=self._producer)
            return len(rows)  # committed (deleted) only now that they are published

    async def flush_quietly(self, ids: Sequence[int]) -> None:
        """Publish now, for a caller that wants the rows out before it answers (an API reply);
        publishing may fail (broker down): the background task retries."""
        try:
            await self.flush(ids)
        except Exception as exc:
            log.warning("outbox_flush_deferred", error=str(exc)[:300], rows=len(ids))

    async def run(self, interval: float) -> None:
        """Publish pending rows whenever notified, and every ``interval`` seconds anyway
        (rows a crashed process or another replica left behind)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
            try:
                while await self.flush() == _SWEEP_LIMIT:
                    pass
            except Exception as exc:
                log.warning("outbox_flush_deferred", error=str(exc)[:300])
