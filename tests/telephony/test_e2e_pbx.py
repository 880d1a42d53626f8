"""The generic PBX webhook end to end: newCall/answer/hangup through the gateway ->
call events -> a call record on the caller's open ticket; a missed call -> a call-back
ticket; a wrong token -> 403 with nothing published."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from devstack.probes import end_offsets, eventually
from devstack.test_system import BLOCKED_CALLER, PBX_TOKEN, Fakes
from phone_helpers import TIMEOUT, calls_on, new_number, sms_ticket, ticket_where
from redis.asyncio import Redis

pytestmark = pytest.mark.e2e
HOOK = f"/webhooks/pbx/pbx_main/{PBX_TOKEN}"


async def _event(gateway: httpx.AsyncClient, **fields: str) -> None:
    answer = await gateway.post(HOOK, data=fields)
    assert (answer.status_code, answer.json()) == (200, {}), answer.text


async def test_answered_call_is_recorded_on_the_callers_open_ticket(
    gateway: httpx.AsyncClient, core: httpx.AsyncClient, kafka: str, redis_url: str
) -> None:
    national, e164 = new_number()
    ticket = await sms_ticket(kafka, core, e164)
    call_id = uuid.uuid4().hex
    redis = Redis.from_url(redis_url, decode_responses=True)
    pubsub = redis.pubsub()
    await pubsub.subscribe("helpdesk:push")
    try:
        base = {"callId": call_id, "from": national, "to": "4950000000", "direction": "in"}
        await _event(gateway, event="newCall", **base)
        push = await _next_push(pubsub, call_id)
        assert push["contact"]["id"] == ticket["contact_id"]
        assert push["open_tickets"][0]["id"] == ticket["id"]
        await _event(gateway, event="answer", answeringNumber="102", **base)
        await asyncio.sleep(1.1)
        for _ in range(2):  # a repeated hangup is recorded once
            await _event(gateway, event="hangup", cause="normalClearing", **base)
    finally:
        await pubsub.aclose()
        await redis.aclose()
    [call] = await calls_on(core, ticket["id"])
    assert call["author_contact_id"] == ticket["contact_id"]
    fields = call["fields"]
    assert fields["direction"] == "inbound" and fields["missed"] == "false"
    assert fields["from"] == e164 and fields["extension"] == "102"
    assert int(fields["duration_seconds"]) >= 1
    assert call["text"].startswith(f"Incoming call from {e164}")
    await asyncio.sleep(1.0)
    assert len(await calls_on(core, ticket["id"])) == 1


async def _next_push(pubsub: object, call_id: str) -> dict[str, object]:
    async def probe() -> dict[str, object] | None:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)  # type: ignore[attr-defined]
        if message is None:
            return None
        data: dict[str, object] = json.loads(message["data"])
        return data if data.get("call_id") == call_id else None

    found = await eventually(probe, lambda p: p is not None, TIMEOUT, "ringing push")
    assert found is not None
    return found


async def test_missed_call_opens_a_call_back_ticket_answered_by_sms(
    gateway: httpx.AsyncClient, core: httpx.AsyncClient, fakes: Fakes
) -> None:
    national, e164 = new_number()
    base = {"callId": uuid.uuid4().hex, "from": national, "to": "4950000000", "direction": "in"}
    await _event(gateway, event="newCall", **base)
    await _event(gateway, event="hangup", cause="noAnswer", **base)
    subject = f"Call back: missed call from {e164}"
    ticket = await ticket_where(core, lambda t: t["subject"] == subject, subject)
    assert ticket["channel"] == "phone" and ticket["status"] == "open"
    [call] = await calls_on(core, ticket["id"])
    assert call["fields"]["missed"] == "true" and call["text"] == f"Missed call from {e164}"

    # The agent answers the missed call by SMS: the default SMS account sends it.
    text = "Sorry we missed your call, we will ring you back at 3 pm."
    sent = await core.post(
        f"/api/v1/tickets/{ticket['id']}/replies", json={"text": text, "channel": "sms"}
    )
    assert sent.status_code == 201, sent.text
    calls = await eventually(
        lambda: _value(fakes.twilio.calls_of("messages.create", To=e164)),
        lambda c: len(c) == 1,
        TIMEOUT,
        "SMS reply",
    )
    assert calls[0].params["Body"] == text


async def test_wrong_token_is_refused_and_nothing_is_published(
    gateway: httpx.AsyncClient, core: httpx.AsyncClient, kafka: str
) -> None:
    before = await end_offsets(kafka, "raw.telephony.v1")
    fields = {"event": "newCall", "callId": "x", "from": "1", "to": "2", "direction": "in"}
    wrong = await gateway.post("/webhooks/pbx/pbx_main/not-the-token", data=fields)
    unknown = await gateway.post(f"/webhooks/pbx/nobody/{PBX_TOKEN}", data=fields)
    assert (wrong.status_code, unknown.status_code) == (403, 404)
    assert await end_offsets(kafka, "raw.telephony.v1") == before


async def test_blocked_caller_is_rejected(gateway: httpx.AsyncClient) -> None:
    assert BLOCKED_CALLER == "+79990000000"
    fields = {"event": "newCall", "callId": uuid.uuid4().hex, "direction": "in", "to": "1"}
    rejected = await gateway.post(HOOK, json={**fields, "from": "8 999 000-00-00"})
    allowed = await gateway.post(HOOK, json={**fields, "from": "8 999 000-00-01"})
    assert (rejected.json(), allowed.json()) == ({"action": "reject"}, {})


async def _value(value: object) -> object:
    return value
