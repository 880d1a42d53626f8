"""Ticket events become agent push events on Redis pub/sub (each gateway replica relays
them to its own WebSocket clients). Each event is pushed once: its id is claimed in
Redis first, so a redelivered event is dropped. A push (``helpdesk_common.agent_push``)
targets the agents the ticket concerns (ticket-core's audience lookup) and the
supervisors (administrators, lead specialists); mentioned agents too.

Email/SMS notifications and replies to customers are not built yet (their own issue).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence

from helpdesk_common.agent_push import SUPERVISOR_ROLES, encode_push
from helpdesk_common.records import TicketEvent, TicketEventKind
from redis.asyncio import Redis

Audience = Callable[[Iterable[int]], Awaitable[dict[int, list[int]]]]


def push_payload(
    event: TicketEvent, agent_ids: Iterable[int] | None = None, *, targeted: bool = False
) -> str:
    """The push envelope of a ticket event: for the agents it concerns and every
    supervisor when ``targeted``, for every agent otherwise."""
    fields = {
        "event_id": event.event_id,
        "ticket_id": event.ticket_id,
        "ticket_number": event.ticket_number,
        "status": event.status,
        "actor_agent_id": event.actor_agent_id,
        "correlation_id": event.correlation_id,
    }
    if not targeted:
        return encode_push(event.kind.value, fields)
    return encode_push(event.kind.value, fields, agent_ids=agent_ids or (), roles=SUPERVISOR_ROLES)


def _mentioned(event: TicketEvent) -> list[int]:
    if event.kind is not TicketEventKind.AGENT_MENTIONED:
        return []
    raw = event.details.get("agent_ids", "")
    return [int(p) for p in raw.split(",") if p.strip().isdigit()]


class PushPublisher:
    def __init__(
        self,
        redis: Redis,
        channel: str,
        seen_ttl_seconds: int,
        audience: Audience | None = None,
    ) -> None:
        """Without ``audience`` (no internal token) every push goes to every agent."""
        self._redis = redis
        self._channel = channel
        self._ttl = seen_ttl_seconds
        self._audience = audience

    async def push(self, events: Sequence[TicketEvent]) -> list[TicketEvent]:
        """Push the events not seen before (internal tickets excluded); returns those pushed."""
        candidates = [e for e in events if not e.internal]
        if not candidates:
            return []
        # Looked up before claiming: a failed lookup rewinds the batch and loses nothing.
        targets = await self._audience(e.ticket_id for e in candidates) if self._audience else None
        async with self._redis.pipeline(transaction=False) as pipe:
            for event in candidates:
                pipe.set(f"notifier:seen:{event.event_id}", "1", nx=True, ex=self._ttl)
            claimed = await pipe.execute()
        fresh = [e for e, first in zip(candidates, claimed, strict=True) if first]
        if fresh:
            async with self._redis.pipeline(transaction=False) as pipe:
                for event in fresh:
                    agent_ids = None
                    if targets is not None:
                        agent_ids = targets.get(event.ticket_id, []) + _mentioned(event)
                    payload = push_payload(event, agent_ids, targeted=targets is not None)
                    pipe.publish(self._channel, payload)
                await pipe.execute()
        return fresh
