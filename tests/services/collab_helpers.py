"""Shared by the collaboration tests: agents and groups through the API, and the ticket
events the running ticket-core publishes (read from the broker, from the test's start)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from devstack.stack import Stack
from helpdesk_common.records import TicketEvent
from helpdesk_common.topics import TICKET_EVENTS

from .conftest import unique

Api = httpx.AsyncClient


async def new_agent(api: Api, role: str = "specialist", login: str | None = None) -> dict[str, Any]:
    email = f"{login or unique('a')}@{unique('d')}.test"
    response = await api.post(
        "/api/v1/agents", json={"name": unique("Agent "), "email": email, "role": role}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def new_group(api: Api, members: list[int]) -> int:
    response = await api.post(
        "/api/v1/groups", json={"name": unique("Line "), "member_ids": members}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def as_agent(agent: int) -> dict[str, str]:
    return {"X-Agent-Id": str(agent)}


class TicketEvents:
    """Every ticket event published after ``start()``."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self.seen: list[TicketEvent] = []

    async def _drain(self) -> None:
        batch = await self._consumer.getmany(timeout_ms=200)
        for records in batch.values():
            self.seen.extend(TicketEvent.model_validate_json(r.value) for r in records if r.value)

    async def wait_for(
        self, ticket_id: int, kind: str, count: int = 1, timeout: float = 15.0
    ) -> list[TicketEvent]:
        """The events of that kind for that ticket, once there are ``count`` of them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.seen if e.ticket_id == ticket_id and e.kind == kind]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                kinds = [e.kind.value for e in self.seen if e.ticket_id == ticket_id]
                raise AssertionError(f"no {count} x {kind} for ticket {ticket_id}; saw {kinds}")
            await self._drain()

    async def kinds_of(self, ticket_id: int, settle: float = 1.0) -> list[str]:
        """The kinds seen for a ticket after reading for ``settle`` seconds more."""
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline:
            await self._drain()
        return [e.kind.value for e in self.seen if e.ticket_id == ticket_id]


@asynccontextmanager
async def ticket_events(running: Stack) -> AsyncIterator[TicketEvents]:
    assert running.infra is not None
    consumer = AIOKafkaConsumer(bootstrap_servers=running.infra.kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(TICKET_EVENTS.name, p) for p in range(TICKET_EVENTS.partitions)]
        consumer.assign(parts)
        await consumer.seek_to_end(*parts)
        await asyncio.gather(*(consumer.position(p) for p in parts))
        yield TicketEvents(consumer)
    finally:
        await consumer.stop()
