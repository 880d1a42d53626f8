"""Agents' phone extensions on their profiles, end to end through the running stack:
the admin API validates them; a call ringing on an agent's extension is pushed to that
agent's WebSocket (through the gateway) with the caller's card and not to another agent;
click-to-call by a logged-in agent rings the extension on their profile (the fake Simple
Calls server got the ``Call`` request); an agent without an extension gets a clear 422."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from devstack.probes import eventually
from devstack.stack import Stack
from devstack.test_system import INTERNAL_TOKEN, PBX_TOKEN, Fakes
from helpdesk_common.agent_push import PUSH_CHANNEL, encode_push
from phone_agents import logged_in_agent, new_extension, next_push, push_socket
from phone_helpers import TIMEOUT, new_number, sms_ticket
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection

pytestmark = pytest.mark.e2e


async def _value(value: Any) -> Any:
    return value


async def test_the_extension_is_validated_and_unique_and_set_by_administrators(
    core: httpx.AsyncClient,
) -> None:
    extension = new_extension()
    anna = await logged_in_agent(core, extension)
    boris = await logged_in_agent(core)
    for bad in ("1", "12a4", "12345678901234567", " 101", "+101", ""):
        answer = await core.patch(f"/api/v1/agents/{boris.agent_id}", json={"phone_extension": bad})
        assert answer.status_code == 422, (bad, answer.text)
    taken = await core.patch(
        f"/api/v1/agents/{boris.agent_id}", json={"phone_extension": extension}
    )
    assert taken.status_code == 409
    assert f"phone extension {extension} already exists" in taken.json()["detail"]
    # An agent cannot set (or take) an extension themselves: it is PBX configuration.
    own = await core.patch(
        f"/api/v1/agents/{boris.agent_id}",
        json={"phone_extension": new_extension()},
        headers=boris.headers,
    )
    assert own.status_code == 403
    assert (await core.get(f"/api/v1/agents/{boris.agent_id}")).json()["phone_extension"] is None
    # ticket-core's internal lookup (what telephony asks), behind the internal token.
    internal = {"Authorization": f"Bearer {INTERNAL_TOKEN}"}
    found = await core.get(
        "/internal/v1/agents/phone", params={"extension": extension}, headers=internal
    )
    assert found.status_code == 200
    assert (found.json()["agent_id"], found.json()["extension"]) == (anna.agent_id, extension)
    unauthorised = await core.get("/internal/v1/agents/phone", params={"extension": extension})
    assert unauthorised.status_code == 401
    # An explicit null frees the extension; another agent may then take it.
    cleared = await core.patch(f"/api/v1/agents/{anna.agent_id}", json={"phone_extension": None})
    assert cleared.status_code == 200 and cleared.json()["phone_extension"] is None
    gone = await core.get(
        "/internal/v1/agents/phone", params={"extension": extension}, headers=internal
    )
    assert gone.status_code == 404
    moved = await core.patch(
        f"/api/v1/agents/{boris.agent_id}", json={"phone_extension": extension}
    )
    assert moved.status_code == 200 and moved.json()["phone_extension"] == extension
    mine = await core.get(f"/internal/v1/agents/{boris.agent_id}/phone", headers=internal)
    assert mine.json() == {
        "agent_id": boris.agent_id,
        "name": mine.json()["name"],
        "active": True,
        "extension": extension,
    }


async def ring_until_pushed(
    fakes: Fakes, socket: ClientConnection, extension: str, caller: str
) -> tuple[str, dict[str, Any]]:
    """Ring until the agent's socket shows the call: the fake server cannot tell whether a
    connection that an earlier test dropped has been replaced yet, so an event it sends
    may reach nobody. Each attempt is a new call (a ringing event is pushed once)."""
    for _ in range(4):
        call_id = uuid.uuid4().hex
        fakes.simple_calls.push_event(type=2, callID=call_id, to=extension, **{"from": caller})
        try:
            async with asyncio.timeout(8):
                push = await next_push(socket)
                while push.get("call_id") != call_id:
                    push = await next_push(socket)
            return call_id, push
        except TimeoutError:
            continue
    raise AssertionError("the ringing push never reached the agent's socket")


async def test_ringing_on_an_agents_extension_is_pushed_to_that_agent_only(
    running: Stack, fakes: Fakes, core: httpx.AsyncClient, kafka: str
) -> None:
    assert running.infra is not None
    await asyncio.to_thread(fakes.simple_calls.wait_clients, 1, TIMEOUT)
    extension = new_extension()
    anna = await logged_in_agent(core, extension)
    boris = await logged_in_agent(core, new_extension())
    _, e164 = new_number()
    ticket = await sms_ticket(kafka, core, e164)
    anna_socket = await push_socket(running, anna)
    boris_socket = await push_socket(running, boris)
    redis = Redis.from_url(running.infra.redis_url)
    try:
        call_id, push = await ring_until_pushed(fakes, anna_socket, extension, e164)
        assert push["kind"] == "call.ringing" and push["agent_ids"] == [anna.agent_id]
        assert push["agent_id"] == anna.agent_id and push["extension"] == extension
        assert push["from"] == e164 and push["contact"]["id"] == ticket["contact_id"]
        assert [t["id"] for t in push["open_tickets"]] == [ticket["id"]]
        assert push["actions"] == [{"action": "new_ticket", "phone": e164}]
        # Boris gets the sentinel aimed at him, and never the call before it.
        await redis.publish(
            PUSH_CHANNEL, encode_push("sentinel", {"n": 1}, agent_ids=[boris.agent_id])
        )
        while (message := await next_push(boris_socket))["kind"] != "sentinel":
            assert message.get("call_id") != call_id, message
    finally:
        await anna_socket.close()
        await boris_socket.close()
        await redis.aclose()


async def test_click_to_call_by_a_logged_in_agent_rings_their_profile_extension(
    fakes: Fakes, core: httpx.AsyncClient, telephony: httpx.AsyncClient
) -> None:
    await asyncio.to_thread(fakes.simple_calls.wait_clients, 1, TIMEOUT)
    extension = new_extension()
    anna = await logged_in_agent(core, extension)
    before = len(fakes.simple_calls.requests)
    answer = await telephony.post(
        "/api/v1/calls",
        json={"account": "simple_calls", "to": "8 343 011-22-44"},
        headers=anna.headers,
    )
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert (body["extension"], body["to"], body["agent_id"]) == (
        extension,
        "+73430112244",
        anna.agent_id,
    )
    requests = await eventually(
        lambda: _value(fakes.simple_calls.requests[before:]),
        lambda r: len(r) >= 1,
        TIMEOUT,
        "Call request",
    )
    assert requests[0] == (
        "<Request><ProtocolVersion>1</ProtocolVersion><Method>Call</Method>"
        f"<RequestID>{body['request_id']}</RequestID>"
        f"<Data><From>{extension}</From><To>+73430112244</To></Data></Request>"
    )
    # The session cookie works too (the console on the same host) ...
    cookie = {"Cookie": f"helpdesk_session={anna.token}"}
    same_origin = await telephony.post(
        "/api/v1/calls", json={"account": "simple_calls", "to": "+73430112255"}, headers=cookie
    )
    assert same_origin.status_code == 202 and same_origin.json()["extension"] == extension
    # ... but not from another origin's page.
    foreign = await telephony.post(
        "/api/v1/calls",
        json={"account": "simple_calls", "to": "+73430112255"},
        headers={**cookie, "Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    # An agent calls as themselves, from their own extension.
    for other in ({"agent_id": anna.agent_id + 1}, {"extension": "101"}):
        refused = await telephony.post(
            "/api/v1/calls",
            json={"account": "simple_calls", "to": "+73430112255", **other},
            headers=anna.headers,
        )
        assert refused.status_code == 403, other
    dead = await telephony.post(
        "/api/v1/calls",
        json={"account": "simple_calls", "to": "+73430112255"},
        headers={"Authorization": "Bearer not-a-session"},
    )
    assert dead.status_code == 401
    # Nothing but the two calls reached the server.
    await asyncio.sleep(0.3)
    assert len(fakes.simple_calls.requests) - before == 2


async def test_click_to_call_by_an_agent_without_an_extension_is_a_clear_422(
    fakes: Fakes, core: httpx.AsyncClient, telephony: httpx.AsyncClient
) -> None:
    await asyncio.to_thread(fakes.simple_calls.wait_clients, 1, TIMEOUT)
    boris = await logged_in_agent(core)
    before = len(fakes.simple_calls.requests)
    answer = await telephony.post(
        "/api/v1/calls",
        json={"account": "simple_calls", "to": "+73430112266"},
        headers=boris.headers,
    )
    assert answer.status_code == 422
    assert answer.json()["detail"] == (
        f"agent {boris.agent_id} has no phone extension on their profile "
        "(an administrator sets phone_extension on the agent)"
    )
    # A service naming that agent gets the same answer (no profile extension, no map entry).
    service = await telephony.post(
        "/api/v1/calls",
        json={"account": "simple_calls", "to": "+73430112266", "agent_id": boris.agent_id},
    )
    assert service.status_code == 422
    assert service.json()["detail"] == f"agent {boris.agent_id} has no phone extension"
    assert len(fakes.simple_calls.requests) == before


async def test_a_pbx_webhook_call_for_an_agents_extension_is_pushed_to_that_agent(
    running: Stack, gateway: httpx.AsyncClient, core: httpx.AsyncClient
) -> None:
    extension = new_extension()
    anna = await logged_in_agent(core, extension)
    anna_socket = await push_socket(running, anna)
    national, e164 = new_number()
    call_id = uuid.uuid4().hex
    try:
        answer = await gateway.post(
            f"/webhooks/pbx/pbx_main/{PBX_TOKEN}",
            data={
                "event": "newCall",
                "callId": call_id,
                "from": national,
                "to": "4950000000",
                "direction": "in",
                "user": extension,
            },
        )
        assert answer.status_code == 200, answer.text
        push = await next_push(anna_socket)
        while push.get("call_id") != call_id:
            push = await next_push(anna_socket)
        assert push["agent_ids"] == [anna.agent_id] and push["extension"] == extension
        assert push["from"] == e164
    finally:
        await anna_socket.close()
