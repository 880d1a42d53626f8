"""Agent push through the running gateway and the real Redis: a logged-in agent's
WebSocket gets the pushes aimed at them and not those aimed at others; ticket events
reach the agents they concern through the notifier; bad tokens and revoked sessions are
refused."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from devstack.stack import Stack
from helpdesk_common.agent_push import PUSH_CHANNEL, encode_push
from redis.asyncio import Redis
from sqlalchemy import update
from ticket_core.audit import Actor
from ticket_core.models_org import agents
from ticket_core.ticket_visibility import audiences
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .auth_helpers import LoggedIn, logged_in
from .conftest import Desk

TIMEOUT = 20.0


def _ws_url(running: Stack) -> str:
    return f"ws://127.0.0.1:{running.config.service_ports['gateway']}/ws/agents"


async def _next_push(socket: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    """The next message that is not a heartbeat (bounded wait)."""
    async with asyncio.timeout(timeout):
        while True:
            message: dict[str, Any] = json.loads(await socket.recv())
            if message["kind"] == "ping":
                await socket.send(json.dumps({"kind": "pong"}))
                continue
            if message["kind"] != "pong":
                return message


async def _open(running: Stack, agent: LoggedIn, *, cookie: bool = False) -> ClientConnection:
    if cookie:
        socket = await connect(
            _ws_url(running), additional_headers={"Cookie": f"helpdesk_session={agent.token}"}
        )
    else:
        socket = await connect(f"{_ws_url(running)}?token={agent.token}")
    hello = await _next_push(socket)
    assert hello == {"kind": "hello", "agent_id": agent.agent_id, "role": "specialist"}
    return socket


async def _close_code(socket: ClientConnection, timeout: float = TIMEOUT) -> int | None:
    try:
        async with asyncio.timeout(timeout):
            while True:
                await socket.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def test_a_push_reaches_the_targeted_agent_only(
    running: Stack, tickets_api: httpx.AsyncClient
) -> None:
    assert running.infra is not None
    anna, boris = await logged_in(tickets_api), await logged_in(tickets_api)
    redis = Redis.from_url(running.infra.redis_url)
    anna_socket = await _open(running, anna)
    boris_socket = await _open(running, boris, cookie=True)
    try:
        await redis.publish(
            PUSH_CHANNEL,
            encode_push("status.changed", {"ticket_id": 11, "n": 1}, agent_ids=[anna.agent_id]),
        )
        await redis.publish(PUSH_CHANNEL, encode_push("call.ringing", {"call_id": "everyone"}))
        first = await _next_push(anna_socket)
        assert first["kind"] == "status.changed" and first["ticket_id"] == 11
        assert first["agent_ids"] == [anna.agent_id]
        assert (await _next_push(anna_socket))["call_id"] == "everyone"
        # Boris's first push is the one for everyone: Anna's never reached him.
        assert (await _next_push(boris_socket))["call_id"] == "everyone"

        # Supervisors' roles: a specialist is not one.
        await redis.publish(
            PUSH_CHANNEL, encode_push("x", {"n": 2}, agent_ids=[], roles=["administrator"])
        )
        await redis.publish(PUSH_CHANNEL, encode_push("y", {"n": 3}, agent_ids=[boris.agent_id]))
        assert (await _next_push(boris_socket))["n"] == 3

        # Heartbeat: the client's ping is answered.
        await anna_socket.send(json.dumps({"kind": "ping"}))
        async with asyncio.timeout(TIMEOUT):
            while json.loads(await anna_socket.recv())["kind"] != "pong":
                pass

        # Logging out closes the socket at the next session check (4401).
        out = await tickets_api.post("/api/v1/auth/logout", headers=anna.headers)
        assert out.status_code == 204
        assert await _close_code(anna_socket) == 4401
        await redis.publish(PUSH_CHANNEL, encode_push("z", {"n": 4}, agent_ids=[boris.agent_id]))
        assert (await _next_push(boris_socket))["n"] == 4  # Boris's socket lives on
    finally:
        await anna_socket.close()
        await boris_socket.close()
        await redis.aclose()


async def test_bad_or_missing_tokens_are_refused(running: Stack) -> None:
    for url in (f"{_ws_url(running)}?token=not-a-session", _ws_url(running)):
        async with connect(url) as socket:
            assert await _close_code(socket) == 4401


async def test_ticket_events_reach_the_agents_they_concern(
    running: Stack, tickets_api: httpx.AsyncClient, desk: Desk
) -> None:
    """A ticket assigned to Anna: the notifier's pushes of its events go to her socket
    (her audience), not to Boris, an unrelated specialist."""
    assert running.infra is not None
    anna, boris = await logged_in(tickets_api), await logged_in(tickets_api)
    (ticket,) = await desk.tickets()
    anna_socket = await _open(running, anna)
    boris_socket = await _open(running, boris)
    redis = Redis.from_url(running.infra.redis_url)
    try:
        assigned = await tickets_api.patch(
            f"/api/v1/tickets/{ticket['id']}",
            json={"responsible_agent_id": anna.agent_id},
            headers={"X-Agent-Id": str(anna.agent_id)},
        )
        assert assigned.status_code == 200, assigned.text
        # The audience is looked up when the notifier pushes, so the ticket's earlier
        # events may reach her too if they were still on their way.
        push = await _next_push(anna_socket)
        while (push.get("ticket_id"), push["kind"]) != (ticket["id"], "responsible.changed"):
            push = await _next_push(anna_socket)
        assert anna.agent_id in push["agent_ids"]
        assert "administrator" in push["roles"] and "event_id" in push
        # Boris sees the next push aimed at him, and no push of Anna's ticket before it.
        await redis.publish(
            PUSH_CHANNEL, encode_push("sentinel", {"n": 5}, agent_ids=[boris.agent_id])
        )
        while (message := await _next_push(boris_socket))["kind"] != "sentinel":
            assert message.get("ticket_id") != ticket["id"], message
    finally:
        await anna_socket.close()
        await boris_socket.close()
        await redis.aclose()


async def test_a_tickets_audience_is_its_responsible_and_observers_active_only(
    desk: Desk,
) -> None:
    """What the notifier targets (``ticket_visibility.audiences``, in-process)."""
    responsible, member, observer, group_watcher, gone = [await desk.agent() for _ in range(5)]
    team = await desk.group([responsible, member, gone])
    watchers = await desk.group([group_watcher])
    assigned, untouched = await desk.tickets(2)
    outcome = await desk.change(
        [assigned["id"]],
        Actor.agent(responsible),
        responsible_agent_id=responsible,
        responsible_group_id=team,
        observer_agent_ids=frozenset({observer}),
        observer_group_ids=frozenset({watchers}),
    )
    assert outcome.updated == [assigned["id"]]
    async with desk.sessions() as session, session.begin():
        await session.execute(update(agents).where(agents.c.id == gone).values(active=False))
    async with desk.sessions() as session:
        found = await audiences(session, [assigned["id"], untouched["id"], 999_999_999])
    assert found[assigned["id"]] == sorted([responsible, member, observer, group_watcher])
    assert found[untouched["id"]] == [] and found[999_999_999] == []


async def test_status_changes_and_comments_are_pushed_to_the_responsible_agents_socket(
    running: Stack, tickets_api: httpx.AsyncClient, desk: Desk
) -> None:
    """ticket-core's events -> the notifier -> Redis -> the gateway -> Anna's WebSocket:
    a colleague's comment and a status change on her ticket, each once."""
    anna = await logged_in(tickets_api)
    colleague = await desk.agent()
    (ticket,) = await desk.tickets()
    assigned = await desk.change(
        [ticket["id"]], Actor.agent(colleague), responsible_agent_id=anna.agent_id
    )
    assert assigned.updated == [ticket["id"]]
    socket = await _open(running, anna)
    try:
        note = await tickets_api.post(
            f"/api/v1/tickets/{ticket['id']}/replies",
            json={"text": "Looked at it", "internal": True},
            headers={"X-Agent-Id": str(colleague)},
        )
        assert note.status_code == 201, note.text
        moved = await desk.change([ticket["id"]], Actor.agent(colleague), status="resolved")
        assert moved.updated == [ticket["id"]]
        wanted = {"message.added", "status.changed"}
        seen: list[dict[str, Any]] = []
        while not wanted <= {p["kind"] for p in seen if p["actor_agent_id"] == colleague}:
            push = await _next_push(socket)
            if push.get("ticket_id") == ticket["id"]:
                seen.append(push)
        # (the API's note is published at once, the in-process changes by the outbox
        # sweeper: the pushes keep no order between the two)
        mine = [p for p in seen if p["actor_agent_id"] == colleague and p["kind"] in wanted]
        assert sorted(p["kind"] for p in mine) == sorted(wanted), seen  # each once
        changed = next(p for p in mine if p["kind"] == "status.changed")
        assert changed["status"] == "resolved" and anna.agent_id in changed["agent_ids"]
        assert len({p["event_id"] for p in seen}) == len(seen)  # no event pushed twice
    finally:
        await socket.close()
