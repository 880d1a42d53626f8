"""Ticket events become agent push events on Redis pub/sub (each gateway replica relays
them to its own WebSocket clients). Each event is pushed once: its id is claimed in
Redis first, so a redelivered event is dropped.

Email/SMS notifications and replies to customers are not built yet (their own issue).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from helpdesk_common.records import TicketEvent
from redis.asyncio import Redis


def push_payload(event: TicketEvent) -> str:
    return json.dumps(
        {
            "event_id": event.event_id,
            "kind": event.kind.value,
            "ticket_id": event.ticket_id,
            "ticket_number": event.ticket_number,
            "status": event.status,
            "correlation_id": event.correlation_id,
        }
    )


class PushPublisher:
    def __init__(self, redis: Redis, channel: str, seen_ttl_seconds: int) -> None:
        self._redis = redis
        self._channel = channel
        self._ttl = seen_ttl_seconds

    async def push(self, events: Sequence[TicketEvent]) -> list[TicketEvent]:
        """Push the events not seen before (internal tickets excluded); returns those pushed."""
        candidates = [e for e in events if not e.internal]
        if not candidates:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for event in candidates:
                pipe.set(f"notifier:seen:{event.event_id}", "1", nx=True, ex=self._ttl)
            claimed = await pipe.execute()
        fresh = [e for e, first in zip(candidates, claimed, strict=True) if first]
        if fresh:
            async with self._redis.pipeline(transaction=False) as pipe:
                for event in fresh:
                    pipe.publish(self._channel, push_payload(event))
                await pipe.execute()
        return fresh
