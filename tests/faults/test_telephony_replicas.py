"""Two telephony replicas at once (the session's own and one more: same consumer group,
same broker, PostgreSQL and Redis), as ``test_replicas.py`` does for the other services.

- PBX webhooks: raw records are keyed ``phone:<account>``, so 8 PBX accounts are chosen to
  cover the 8 partitions of ``raw.telephony.v1``; calls go through the gateway. Both
  replicas handle part of the stream (their ``/metrics``), every completed call is stored
  once and every ringing call is pushed once.
- Simple Calls: the connector has no lease, so BOTH replicas hold a WebSocket to the
  server and both publish every call event (``inbound.calls.v1`` carries each twice).
  ticket-core still stores each call once (idempotency key) and the ringing push is
  claimed once in Redis (``telephony:pushed:<key>``): no doubled calls, no doubled pushes.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from devstack.faults import start_replica
from devstack.probes import eventually, metric, read_topic
from devstack.stack import Stack
from devstack.test_system import Fakes, ensure_sms_and_phone_accounts
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from test_replicas import CONSUMED, covering_names

pytestmark = pytest.mark.e2e
TIMEOUT = 60.0
RAW = "raw.telephony.v1"
CALLS = "inbound.calls.v1"


class Pushes:
    """Every ``call.ringing`` push published on ``helpdesk:push`` while it listens."""

    def __init__(self, redis_url: str) -> None:
        self.redis = Redis.from_url(redis_url, decode_responses=True)
        self.pubsub = self.redis.pubsub()
        self.seen: Counter[str] = Counter()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Pushes:
        await self.pubsub.subscribe("helpdesk:push")
        self._task = asyncio.create_task(self._listen())
        return self

    async def _listen(self) -> None:
        while True:
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if message is not None:
                data: dict[str, Any] = json.loads(message["data"])
                if data.get("kind") == "call.ringing":
                    self.seen[str(data.get("call_id"))] += 1

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self.pubsub.aclose()
        await self.redis.aclose()


@pytest.fixture
async def second_telephony(running: Stack, fakes: Fakes) -> AsyncIterator[int]:
    await ensure_sms_and_phone_accounts(
        f"http://127.0.0.1:{running.config.service_ports['ticket-core']}", fakes
    )
    child, port = await asyncio.to_thread(start_replica, running, "telephony", "tel2")
    try:
        yield port
    finally:
        await asyncio.to_thread(child.stop)


async def call_messages(engine: AsyncEngine, key_like: str) -> Counter[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT idempotency_key FROM messages WHERE idempotency_key LIKE :k"),
            {"k": key_like},
        )
        return Counter(str(key) for (key,) in rows)


async def handled(ports: list[int]) -> list[float]:
    return [await metric(p, CONSUMED, outcome="handled", topic=RAW) for p in ports]


async def test_two_telephony_replicas_share_pbx_calls_and_double_no_call_or_push(
    running: Stack,
    second_telephony: int,
    gateway: httpx.AsyncClient,
    core: httpx.AsyncClient,
    engine: AsyncEngine,
    fakes: Fakes,
    kafka: str,
) -> None:
    assert running.infra is not None
    run = uuid.uuid4().hex[:10]
    ports = [running.config.service_ports["telephony"], second_telephony]
    pbxs = covering_names(f"pbx{run}", "phone")
    for name in pbxs:
        response = await core.post(
            "/api/v1/channel-accounts",
            json={
                "channel": "phone",
                "name": name,
                "config": {"kind": "pbx_webhook", "default_country": "RU"},
                "secrets": {"webhook_token": f"tok-{run}"},
            },
        )
        assert response.status_code == 201, response.text
    calls = iter(range(10_000))

    async def call(pbx: str, answered: bool) -> str:
        call_id = f"{run}-{next(calls)}"
        base = {"callId": call_id, "from": f"8916{hash(call_id) % 10**7:07d}", "to": "101"}
        events = ["newCall", "answer", "hangup"] if answered else ["newCall", "hangup"]
        for event in events:
            response = await gateway.post(
                f"/webhooks/pbx/{pbx}/tok-{run}", data={"event": event, **base}
            )
            assert response.status_code == 200, response.text
        return call_id

    async with Pushes(running.infra.redis_url) as pushes:
        # Until both replicas have handled PBX records: the group spans both processes.
        before = await handled(ports)
        made: list[str] = []

        async def warm() -> list[float]:
            made.extend(await asyncio.gather(*(call(p, False) for p in pbxs)))
            await asyncio.sleep(1.0)
            return [a - b for a, b in zip(await handled(ports), before, strict=True)]

        await eventually(warm, lambda done: all(n > 0 for n in done), TIMEOUT, "both replicas")

        # The stream proper: 8 accounts x 4 calls, answered and missed.
        start = await handled(ports)
        for round_ in range(4):
            made.extend(await asyncio.gather(*(call(p, round_ % 2 == 0) for p in pbxs)))
        stored = await eventually(
            lambda: call_messages(engine, f"pbx:pbx{run}%"),
            lambda found: len(found) >= len(made),
            TIMEOUT,
            "every PBX call stored",
        )
        assert {key.split(":")[2] for key in stored} == set(made)
        assert all(key.endswith(":completed") for key in stored)
        assert set(stored.values()) == {1}  # each call once
        shares = [a - b for a, b in zip(await handled(ports), start, strict=True)]
        assert all(n > 0 for n in shares), shares
        assert sum(shares) >= len(pbxs) * (3 + 2) * 2  # the stream's webhooks (and retries)
        await eventually(
            lambda: _value(set(pushes.seen) >= set(made)), bool, TIMEOUT, "every ringing push"
        )

        # Simple Calls: both replicas are connected and both publish every event.
        await asyncio.to_thread(fakes.simple_calls.wait_clients, 2, TIMEOUT)
        sc_calls = [f"{run}-sc{n}" for n in range(5)]
        for n, call_id in enumerate(sc_calls):
            caller = f"8916{(hash(call_id) % 10**7):07d}"
            assert (
                fakes.simple_calls.push_event(type=2, callID=call_id, to="101", **{"from": caller})
                >= 2
            )
            fakes.simple_calls.push_event(
                type=4,
                callID=call_id,
                to="101",
                duration=10 + n,
                direction=0,
                missed=0,
                **{"from": caller},
            )
        sc_stored = await eventually(
            lambda: call_messages(engine, f"simplecalls:simple_calls:{run}-sc%"),
            lambda found: len(found) >= len(sc_calls),
            TIMEOUT,
            "every Simple Calls call stored",
        )
        assert set(sc_stored.values()) == {1} and len(sc_stored) == len(sc_calls)

        async def published() -> Counter[str]:
            records = await read_topic(kafka, CALLS, timeout=3.0)
            return Counter(
                f"{event['call_id']}:{event['kind']}"
                for event in (json.loads(r.value) for r in records if r.value)
                if str(event.get("call_id", "")).startswith(f"{run}-sc")
            )

        on_topic = await eventually(
            published, lambda c: len(c) == 10 and min(c.values()) >= 2, TIMEOUT, "both publish"
        )
        assert set(on_topic.values()) == {2}, on_topic  # one copy from each replica
        await eventually(
            lambda: _value(set(pushes.seen) >= set(sc_calls)), bool, TIMEOUT, "sc pushes"
        )
        await asyncio.sleep(1.0)  # a second push of any call would have come by now
        assert {c: pushes.seen[c] for c in made + sc_calls} == dict.fromkeys(made + sc_calls, 1)


async def _value(value: Any) -> Any:
    return value
