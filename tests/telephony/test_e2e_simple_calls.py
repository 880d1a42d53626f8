"""Simple Calls end to end against the fake server: the connector's handshake, ringing ->
push with the caller's card, completed -> call record, click-to-call -> the ``Call``
request, and the connector reconnects after the server dropped it."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from devstack.probes import eventually
from devstack.test_system import SIMPLE_CALLS_PASSWORD, Fakes
from phone_helpers import TIMEOUT, calls_on, new_number, sms_ticket, ticket_where
from redis.asyncio import Redis

pytestmark = pytest.mark.e2e


async def _connected(fakes: Fakes, core: httpx.AsyncClient) -> None:
    await asyncio.to_thread(fakes.simple_calls.wait_clients, 1, TIMEOUT)


async def _push(redis_url: str, call_id: str, send: Any) -> dict[str, Any]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    pubsub = redis.pubsub()
    await pubsub.subscribe("helpdesk:push")
    try:
        await asyncio.to_thread(send)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if message is not None:
                data: dict[str, Any] = json.loads(message["data"])
                if data.get("call_id") == call_id:
                    return data
        raise AssertionError("no ringing push")
    finally:
        await pubsub.aclose()
        await redis.aclose()


async def test_ringing_push_and_completed_call_record(
    fakes: Fakes, core: httpx.AsyncClient, kafka: str, redis_url: str
) -> None:
    await _connected(fakes, core)
    query = fakes.simple_calls.connections[-1]
    assert query["CID"] == base64.b64encode(SIMPLE_CALLS_PASSWORD.encode()).decode()
    assert query["PzProtocolVersion"] == "2"
    national, e164 = new_number()
    ticket = await sms_ticket(kafka, core, e164)
    call_id = uuid.uuid4().hex
    digits = national.replace(" ", "").replace("(", "").replace(")", "").replace("-", "")
    push = await _push(
        redis_url,
        call_id,
        lambda: fakes.simple_calls.push_event(type=2, callID=call_id, to="101", **{"from": digits}),
    )
    assert push["kind"] == "call.ringing" and push["extension"] == "101"
    assert push["agent_id"] == 1 and push["from"] == e164
    assert push["contact"]["id"] == ticket["contact_id"]
    assert push["actions"] == [{"action": "new_ticket", "phone": e164}]
    end = int(time.time())
    fakes.simple_calls.push_event(type=32, callID=call_id, to="101", **{"from": digits})
    fakes.simple_calls.push_event(
        type=4,
        callID=call_id,
        to="101",
        start=end - 65,
        end=end,
        duration=65,
        direction=0,
        missed=0,
        record="https://pbx.example.com/rec/1.mp3",
        **{"from": digits},
    )
    [call] = await calls_on(core, ticket["id"])
    assert call["text"] == f"Incoming call from {e164} (1:05)"
    assert call["fields"]["recording_url"] == "https://pbx.example.com/rec/1.mp3"
    assert call["fields"]["duration_seconds"] == "65" and call["fields"]["extension"] == "101"


async def test_click_to_call_sends_the_call_request(
    fakes: Fakes, core: httpx.AsyncClient, telephony: httpx.AsyncClient
) -> None:
    await _connected(fakes, core)
    before = len(fakes.simple_calls.requests)
    answer = await telephony.post(
        "/api/v1/calls", json={"account": "simple_calls", "agent_id": 1, "to": "8 343 011-22-33"}
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["extension"] == "101" and answer.json()["to"] == "+73430112233"
    requests = await eventually(
        lambda: _value(fakes.simple_calls.requests[before:]),
        lambda r: len(r) == 1,
        TIMEOUT,
        "Call request",
    )
    assert requests[0] == (
        "<Request><ProtocolVersion>1</ProtocolVersion><Method>Call</Method>"
        f"<RequestID>{answer.json()['request_id']}</RequestID>"
        "<Data><From>101</From><To>+73430112233</To></Data></Request>"
    )
    unknown = await telephony.post("/api/v1/calls", json={"account": "simple_calls", "to": "1"})
    assert unknown.status_code == 422


async def _value(value: Any) -> Any:
    return value


async def _holds_still(read: Any, quiet: float, what: str) -> Any:
    """``read()`` once it stayed the same for ``quiet`` seconds (bounded by TIMEOUT)."""
    deadline = time.monotonic() + TIMEOUT
    last = read()
    while True:
        await asyncio.sleep(quiet)
        now = read()
        if now == last:
            return now
        assert time.monotonic() < deadline, f"{what} still changing after {TIMEOUT} s"
        last = now


async def test_connector_reconnects_after_the_server_dropped_it(
    fakes: Fakes, core: httpx.AsyncClient, kafka: str
) -> None:
    await _connected(fakes, core)
    connections = len(fakes.simple_calls.connections)
    await asyncio.to_thread(fakes.simple_calls.drop_all)
    await eventually(
        lambda: _value(len(fakes.simple_calls.connections)),
        lambda n: n > connections,
        TIMEOUT,
        "reconnection",
    )
    await _connected(fakes, core)
    _, e164 = new_number()
    ticket = await sms_ticket(kafka, core, e164)
    call_id = uuid.uuid4().hex
    end = int(time.time())
    fakes.simple_calls.push_event(
        type=4,
        callID=call_id,
        to="101",
        start=end,
        end=end,
        duration=0,
        direction=0,
        missed=1,
        **{"from": e164},
    )
    subject = f"Call back: missed call from {e164}"
    call_back = await ticket_where(core, lambda t: t["subject"] == subject, subject)
    assert call_back["id"] != ticket["id"]  # the rule: missed calls open a call-back ticket
    assert call_back["contact_id"] == ticket["contact_id"]
    [call] = await calls_on(core, call_back["id"])
    assert call["fields"]["missed"] == "true"


async def test_refused_password_is_retried_with_backoff_until_the_account_goes(
    fakes: Fakes, core: httpx.AsyncClient
) -> None:
    account = {
        "channel": "phone",
        "name": f"sc_wrong_{uuid.uuid4().hex[:6]}",
        "config": {"kind": "simple_calls", "url": fakes.simple_calls.url},
        "secrets": {"password": "not-the-password"},
    }
    before = fakes.simple_calls.refused
    assert (await core.post("/api/v1/channel-accounts", json=account)).status_code == 201
    await eventually(
        lambda: _value(fakes.simple_calls.refused),
        lambda n: n >= before + 2,  # closed with 4008, tried again
        TIMEOUT,
        "refused reconnects",
    )
    deleted = await core.delete(f"/api/v1/channel-accounts/phone/{account['name']}")
    assert deleted.status_code == 204
    # The connector follows the accounts within a refresh (0.5 s here, longer on a loaded
    # machine): the reconnects stop, i.e. the count holds still for 2.5 s, within TIMEOUT.
    await _holds_still(lambda: fakes.simple_calls.refused, quiet=2.5, what="refused reconnects")
