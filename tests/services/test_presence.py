"""Ticket presence: heartbeats kept in the real Redis with expiry, shared by every
ticket-core replica; who has a ticket open and since when; a push to the ticket's
audience when someone opens it; specialists only on tickets they may see."""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import httpx
from helpdesk_common.agent_push import PUSH_CHANNEL, SUPERVISOR_ROLES, decode_push
from redis.asyncio import Redis
from ticket_core.audit import Actor
from ticket_core.presence import Presence

from .auth_helpers import logged_in
from .conftest import Desk

Api = httpx.AsyncClient


async def test_presence_is_shared_between_replicas_and_expires(infra: Any) -> None:
    one, two = Redis.from_url(infra.redis_url), Redis.from_url(infra.redis_url)
    try:
        first, second = Presence(one, ttl_seconds=30), Presence(two, ttl_seconds=30)
        ticket = random.randint(10**9, 2 * 10**9)  # no ticket: the store does not care
        t = 1_000_000.0
        assert await first.heartbeat(ticket, 7, t) == (True, t)
        assert await second.heartbeat(ticket, 7, t + 10) == (False, t)  # the same visit
        assert await second.heartbeat(ticket, 8, t + 12) == (True, t + 12)
        seen = await first.viewers(ticket, t + 15)
        assert [(v.agent_id, v.since, v.seen) for v in seen] == [
            (7, t, t + 10),
            (8, t + 12, t + 12),
        ]
        assert [v.agent_id for v in await first.viewers(ticket, t + 41)] == [8]  # 7 went silent
        assert await first.heartbeat(ticket, 7, t + 50) == (True, t + 50)  # a new visit
        await second.leave(ticket, 8)
        assert [v.agent_id for v in await first.viewers(ticket, t + 51)] == [7]
        ttl = await one.pttl(f"helpdesk:presence:{ticket}")
        assert 0 < ttl <= 30_000  # nothing lingers in Redis
    finally:
        await one.aclose()
        await two.aclose()


async def _next_presence(pubsub: Any, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
        if message is None:
            continue
        push = decode_push(message["data"])
        if push is not None and push.kind == "ticket.presence":
            return dict(json.loads(message["data"]))
    raise AssertionError("no ticket.presence push")


async def test_who_has_a_ticket_open_and_the_push_when_someone_opens_it(
    tickets_api: Api, desk: Desk, infra: Any
) -> None:
    admin = await logged_in(tickets_api, "administrator")
    owner = await logged_in(tickets_api, "specialist")
    stranger = await logged_in(tickets_api, "specialist")
    (ticket,) = await desk.tickets(1)
    await desk.change([ticket["id"]], Actor("system"), responsible_agent_id=owner.agent_id)
    url = f"/api/v1/tickets/{ticket['id']}/presence"
    redis = Redis.from_url(infra.redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(PUSH_CHANNEL)
    try:
        opened = await tickets_api.post(url, headers=admin.headers)
        assert opened.status_code == 200, opened.text
        (viewer,) = opened.json()["viewers"]
        assert viewer["agent_id"] == admin.agent_id
        assert viewer["label"].startswith("being processed by Agent ")
        assert viewer["label"][-5:-2].endswith(":")  # "since 10:42"
        push = await _next_presence(pubsub)
        assert push["ticket_id"] == ticket["id"] and push["agent_id"] == admin.agent_id
        assert push["ticket_number"] == ticket["number"] and push["state"] == "opened"
        assert push["agent_ids"] == [owner.agent_id]  # the ticket's audience
        assert push["roles"] == sorted(SUPERVISOR_ROLES)

        again = await tickets_api.post(url, headers=admin.headers)  # a heartbeat: no push
        assert again.json()["viewers"][0]["since"] == viewer["since"]
        joined = await tickets_api.post(url, headers=owner.headers)
        assert [v["agent_id"] for v in joined.json()["viewers"]] == [admin.agent_id, owner.agent_id]
        nxt = await _next_presence(pubsub)
        assert nxt["agent_id"] == owner.agent_id  # the next push is the owner's, not a repeat

        listed = await tickets_api.get(url, headers=owner.headers)
        assert [v["agent_id"] for v in listed.json()["viewers"]] == [admin.agent_id, owner.agent_id]
        assert (await tickets_api.delete(url, headers=admin.headers)).status_code == 204
        listed = await tickets_api.get(url, headers=owner.headers)
        assert [v["agent_id"] for v in listed.json()["viewers"]] == [owner.agent_id]
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await redis.aclose()

    for method in ("GET", "POST", "DELETE"):
        refused = await tickets_api.request(method, url, headers=stranger.headers)
        assert refused.status_code == 404, (method, refused.text)
    missing = await tickets_api.post("/api/v1/tickets/999999999/presence", headers=admin.headers)
    assert missing.status_code == 404
    no_agent = await tickets_api.post(url)  # a service must name the agent
    assert no_agent.status_code == 422
    named = await tickets_api.post(url, headers={"X-Agent-Id": str(stranger.agent_id)})
    assert named.status_code == 200
    await asyncio.sleep(0)
