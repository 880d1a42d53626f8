"""Signed Twilio webhooks and polling helpers for the SMS tests."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import httpx
from devstack.probes import eventually, read_topic
from devstack.test_system import PUBLIC_GATEWAY_URL, TWILIO_NUMBER, TWILIO_SID, TWILIO_TOKEN
from redis.asyncio import Redis
from twilio.request_validator import RequestValidator

TIMEOUT = 30.0
INBOUND = "/webhooks/sms/sms_twilio"


def new_sid() -> str:
    return "SM" + uuid.uuid4().hex


def new_number() -> tuple[str, str]:
    """(national RU format as a PBX or a person writes it, the E.164 form)."""
    rest = f"{random.randrange(10**9):09d}"
    return f"8 9{rest[:2]} {rest[2:5]}-{rest[5:7]}-{rest[7:]}", f"+79{rest}"


def twilio_form(sender: str, body: str, sid: str | None = None, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": sid or new_sid(),
        "SmsSid": sid or new_sid(),
        "AccountSid": TWILIO_SID,
        "From": sender,
        "To": TWILIO_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
        **extra,
    }


async def post_signed(
    gateway: httpx.AsyncClient, path: str, form: dict[str, str], token: str = TWILIO_TOKEN
) -> httpx.Response:
    """Signed as Twilio signs: over the public URL (the gateway sits behind a proxy)."""
    signature = RequestValidator(token).compute_signature(PUBLIC_GATEWAY_URL + path, form)
    return await gateway.post(path, data=form, headers={"X-Twilio-Signature": signature})


async def tickets(core: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await core.get("/api/v1/tickets", params={"limit": 200, "channel": "sms"})
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def ticket_by_subject(core: httpx.AsyncClient, subject: str) -> dict[str, Any]:
    async def probe() -> list[dict[str, Any]]:
        return [t for t in await tickets(core) if t["subject"] == subject]

    found = await eventually(probe, lambda t: len(t) >= 1, TIMEOUT, f"ticket {subject!r}")
    return found[0]


async def ticket(core: httpx.AsyncClient, ticket_id: int) -> dict[str, Any]:
    response = await core.get(f"/api/v1/tickets/{ticket_id}")
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def message_state(
    core: httpx.AsyncClient, ticket_id: int, message_id: int, state: str
) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        found = [m for m in (await ticket(core, ticket_id))["messages"] if m["id"] == message_id]
        return found[0]

    result: dict[str, Any] = await eventually(
        probe, lambda m: m["delivery_state"] == state, TIMEOUT, f"delivery state {state}"
    )
    return result


async def delivery_events(kafka: str, outbound_id: str) -> list[dict[str, Any]]:
    records = await read_topic(kafka, "delivery.events.v1", timeout=3.0)
    events = [json.loads(r.value) for r in records if r.value]
    return [e for e in events if e["outbound_id"] == outbound_id]


async def wait_delivery(kafka: str, outbound_id: str, state: str) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]]:
        return await delivery_events(kafka, outbound_id)

    return await eventually(
        probe, lambda es: any(e["state"] == state for e in es), TIMEOUT, f"{state} event"
    )


async def recorded_sms(redis_url: str, outbound_id: str) -> dict[str, str]:
    """What the notifier recorded about an SMS it sent (segments, provider id, ...)."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:

        async def probe() -> dict[str, str]:
            found: dict[str, str] = await redis.hgetall(f"notifier:sms:{outbound_id}")
            return found

        return await eventually(probe, bool, TIMEOUT, f"sms record of {outbound_id}")
    finally:
        await redis.aclose()


def signature_for(url: str, form: dict[str, str], token: str = TWILIO_TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, form))
