"""Helpers for the telephony tests: numbers, a customer's SMS ticket, call records."""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpx
from devstack.probes import eventually, produce_records
from helpdesk_common.records import Channel, InboundMessage, SenderIdentity, ThreadHints

TIMEOUT = 30.0


def new_number() -> tuple[str, str]:
    """(national RU format, E.164)."""
    rest = f"{random.randrange(10**9):09d}"
    return f"8 (9{rest[:2]}) {rest[2:5]}-{rest[5:7]}-{rest[7:]}", f"+79{rest}"


async def sms_ticket(kafka: str, core: httpx.AsyncClient, e164: str) -> dict[str, Any]:
    """An open SMS ticket of a contact known by ``e164`` (as messenger-ingest makes it)."""
    subject = f"Heating is off {uuid.uuid4().hex[:8]}"
    key = f"sms:sms_twilio:SM{uuid.uuid4().hex}"
    message = InboundMessage(
        idempotency_key=key,
        channel=Channel.SMS,
        channel_account="sms_twilio",
        sender=SenderIdentity(channel_user_id=e164, phone=e164),
        thread=ThreadHints(conversation_id=e164, message_id=key),
        text=subject,
    )
    await produce_records(kafka, "inbound.messages.v1", [message])
    return await ticket_where(core, lambda t: t["subject"] == subject, subject)


async def ticket_where(core: httpx.AsyncClient, check: Any, what: str) -> dict[str, Any]:
    async def probe() -> list[dict[str, Any]]:
        response = await core.get("/api/v1/tickets", params={"limit": 200})
        response.raise_for_status()
        return [t for t in response.json()["items"] if check(t)]

    found = await eventually(probe, lambda t: len(t) >= 1, TIMEOUT, what)
    return found[0]


async def calls_on(core: httpx.AsyncClient, ticket_id: int, count: int = 1) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]]:
        response = await core.get(f"/api/v1/tickets/{ticket_id}")
        response.raise_for_status()
        return [m for m in response.json()["messages"] if m["kind"] == "call"]

    return await eventually(probe, lambda c: len(c) >= count, TIMEOUT, f"call on {ticket_id}")
