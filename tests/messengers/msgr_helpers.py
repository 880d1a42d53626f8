"""Polling helpers over ticket-core's REST API for the messenger end-to-end tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from devstack.probes import end_offsets, eventually
from devstack.processes import Child
from devstack.stack import Stack
from devstack.test_system import Fakes

TIMEOUT = 30.0


async def ticket_by_subject(core: httpx.AsyncClient, subject: str) -> dict[str, Any]:
    async def probe() -> list[dict[str, Any]]:
        response = await core.get("/api/v1/tickets", params={"limit": 200})
        response.raise_for_status()
        return [t for t in response.json()["items"] if t["subject"] == subject]

    found = await eventually(probe, lambda t: len(t) >= 1, TIMEOUT, f"ticket {subject!r}")
    return found[0]


async def tickets_with_subject(core: httpx.AsyncClient, subject: str) -> list[dict[str, Any]]:
    response = await core.get("/api/v1/tickets", params={"limit": 200})
    response.raise_for_status()
    return [t for t in response.json()["items"] if t["subject"] == subject]


async def ticket(core: httpx.AsyncClient, ticket_id: int) -> dict[str, Any]:
    response = await core.get(f"/api/v1/tickets/{ticket_id}")
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def messages_until(
    core: httpx.AsyncClient, ticket_id: int, check: Any, what: str
) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]]:
        return list((await ticket(core, ticket_id))["messages"])

    result: list[dict[str, Any]] = await eventually(probe, check, TIMEOUT, what)
    return result


async def reply(core: httpx.AsyncClient, ticket_id: int, text: str) -> dict[str, Any]:
    response = await core.post(f"/api/v1/tickets/{ticket_id}/replies", json={"text": text})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def delivery_state(
    core: httpx.AsyncClient, ticket_id: int, message_id: int, state: str
) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        found = [m for m in (await ticket(core, ticket_id))["messages"] if m["id"] == message_id]
        return found[0]

    result: dict[str, Any] = await eventually(
        probe, lambda m: m["delivery_state"] == state, TIMEOUT, f"delivery state {state}"
    )
    return result


async def offsets(kafka: str, *topics: str) -> dict[str, int]:
    return {t: await end_offsets(kafka, t) for t in topics}


@dataclass
class MessengerSystem:
    stack: Stack
    fakes: Fakes
    ports: dict[str, int]
    children: dict[str, Child]

    @property
    def kafka(self) -> str:
        assert self.stack.infra is not None
        return self.stack.infra.kafka

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"
