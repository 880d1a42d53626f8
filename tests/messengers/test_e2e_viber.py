"""Viber end to end: signed callbacks in, send_message out, delivery receipts back."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest
from devstack.probes import eventually
from devstack.test_system import INTERNAL_TOKEN, VIBER_TOKEN
from msgr_helpers import (
    TIMEOUT,
    MessengerSystem,
    delivery_state,
    messages_until,
    offsets,
    reply,
    ticket,
    ticket_by_subject,
)
from msgr_payloads import next_id, viber_message, viber_receipt, viber_signed
from redis.asyncio import Redis

pytestmark = pytest.mark.e2e
HOOK = "/webhooks/viber/viber_main"
RAW = "raw.viber.v1"


async def post(gateway: httpx.AsyncClient, event: dict[str, Any]) -> httpx.Response:
    body, headers = viber_signed(event, VIBER_TOKEN)
    return await gateway.post(HOOK, content=body, headers=headers)


async def _value(value: Any) -> Any:
    return value


async def test_message_ticket_reply_and_delivered_then_seen(
    system: MessengerSystem, gateway: httpx.AsyncClient, core: httpx.AsyncClient
) -> None:
    user = f"vb{uuid.uuid4().hex[:10]}=="
    s = f"Boiler leaks {uuid.uuid4().hex[:8]}"
    first = viber_message(user, {"type": "text", "text": s})
    for _ in range(2):  # a redelivered callback is stored once
        assert (await post(gateway, first)).status_code == 200
    found = await ticket_by_subject(core, s)
    second = viber_message(user, {"type": "text", "text": "Still leaking"})
    assert (await post(gateway, second)).status_code == 200
    await messages_until(core, found["id"], lambda m: len(m) == 2, "follow-up on the same ticket")
    await asyncio.sleep(0.5)
    assert [m["text"] for m in (await ticket(core, found["id"]))["messages"]] == [
        s,
        "Still leaking",
    ]

    sent = await reply(core, found["id"], "A plumber is on the way.")
    calls = await eventually(
        lambda: _value(system.fakes.viber.calls_of("send_message", receiver=user)),
        lambda c: len(c) == 1,
        TIMEOUT,
        "send_message",
    )
    assert calls[0].params == {
        "receiver": user,
        "sender": {"name": "Acme Support"},
        "tracking_data": calls[0].params["tracking_data"],
        "type": "text",
        "text": "A plumber is on the way.",
    }
    assert calls[0].headers["x-viber-auth-token"] == VIBER_TOKEN
    await delivery_state(core, found["id"], sent["id"], "sent")

    token = await _message_token(system, sent["outbound_id"])
    for event in ("delivered", "seen"):
        assert (await post(gateway, viber_receipt(event, user, token))).status_code == 200
    await delivery_state(core, found["id"], sent["id"], "read")


async def _message_token(system: MessengerSystem, outbound_id: str) -> str:
    """The message_token the fake answered with, as the notifier recorded it."""
    assert system.stack.infra is not None
    redis = Redis.from_url(system.stack.infra.redis_url)
    try:
        for key in await redis.keys("sent:viber:viber_main:*"):
            if json.loads(await redis.get(key) or "{}").get("outbound_id") == outbound_id:
                return str(key.decode().rsplit(":", 1)[1])
    finally:
        await redis.aclose()
    raise AssertionError("no message_token recorded")


async def test_forged_signature_is_refused_and_nothing_published(
    system: MessengerSystem, gateway: httpx.AsyncClient
) -> None:
    before = await offsets(system.kafka, RAW)
    event = viber_message("someone", {"type": "text", "text": "forged"})
    body, headers = viber_signed(event, "not-the-token")
    forged = await gateway.post(HOOK, content=body, headers=headers)
    unsigned = await gateway.post(HOOK, content=body, headers={"Content-Type": "application/json"})
    _, good = viber_signed(event, VIBER_TOKEN)
    tampered = await gateway.post(HOOK, content=body.replace(b"forged", b"f0rged"), headers=good)
    assert (forged.status_code, unsigned.status_code, tampered.status_code) == (403, 403, 403)
    assert await offsets(system.kafka, RAW) == before


async def test_picture_is_fetched_and_subscription_changes_are_recorded(
    system: MessengerSystem, gateway: httpx.AsyncClient, core: httpx.AsyncClient
) -> None:
    user = f"vb{uuid.uuid4().hex[:10]}=="
    name = f"pic{next_id()}.jpg"
    system.fakes.viber.cdn[name] = b"viber-picture-bytes"
    s = f"Broken window {uuid.uuid4().hex[:8]}"
    picture = {"type": "picture", "text": s, "media": f"{system.fakes.viber.base_url}/cdn/{name}"}
    assert (await post(gateway, viber_message(user, picture))).status_code == 200
    found = await ticket_by_subject(core, s)
    messages = await messages_until(core, found["id"], lambda m: len(m) == 1, "picture")
    attachment = messages[0]["attachments"][0]
    assert attachment["blob"]["sha256"] == hashlib.sha256(b"viber-picture-bytes").hexdigest()

    unsubscribed = {"event": "unsubscribed", "timestamp": 1, "user_id": user, "message_token": 1}
    assert (await post(gateway, unsubscribed)).status_code == 200
    assert system.stack.infra is not None
    redis = Redis.from_url(system.stack.infra.redis_url)
    try:
        state = await eventually(
            lambda: redis.hget("reachability:viber:viber_main", user),
            lambda v: v is not None,
            TIMEOUT,
            "reachability",
        )
    finally:
        await redis.aclose()
    assert json.loads(state)["reachable"] is False


def test_register_webhook_command_sets_the_webhook(system: MessengerSystem) -> None:
    env = {
        **os.environ,
        "GATEWAY_TICKET_CORE_URL": system.url("ticket-core"),
        "GATEWAY_INTERNAL_TOKEN": INTERNAL_TOKEN,
        "GATEWAY_VIBER_API_BASE_URL": f"{system.fakes.viber.base_url}/pa",
        "GATEWAY_TELEGRAM_API_BASE_URL": system.fakes.telegram.base_url,
    }
    public = system.url("gateway")
    for channel, account in (("viber", "viber_main"), ("telegram", "support_bot")):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "register",
                channel,
                account,
                "--public-url",
                public,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert VIBER_TOKEN not in done.stdout + done.stderr
    viber = system.fakes.viber.calls_of("set_webhook")[-1].params
    assert viber["url"] == f"{public}{HOOK}"  # the fake's signed check call got 200
    telegram = system.fakes.telegram.calls_of("setWebhook")[-1].params
    assert telegram["url"] == f"{public}/webhooks/telegram/support_bot"
    assert telegram["secret_token"] == "tg-webhook-secret_42"
