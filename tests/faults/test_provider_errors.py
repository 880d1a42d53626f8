"""Telegram and Viber answer 500s and 429s for a while: the replies are late, none is
lost, none goes out twice (the fakes log every call, the failed ones too)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from devstack.fake_providers import telegram_flood
from devstack.probes import eventually, metric
from devstack.stack import Stack
from devstack.test_system import Fakes
from faults_helpers import (
    delivery_states,
    notifier_idle,
    open_tickets,
    post_replies,
    run_id,
    sent_texts,
)
from helpdesk_common.records import Channel
from helpdesk_common.topics import OUTBOUND_MESSAGES
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.e2e

DEAD = "helpdesk_records_consumed_total"
PER_CHANNEL = 20
CHATS = 4
TELEGRAM_FAILURES: list[tuple[int, Any]] = [
    (500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}),
    telegram_flood(retry_after=1),
    (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}),
    telegram_flood(retry_after=1),
    (500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}),
]
VIBER_FAILURES: list[tuple[int, Any]] = [
    (500, {"status_message": "internal error"}),
    (429, {"status_message": "too many requests"}),
    (200, {"status": 12, "status_message": "tooManyRequests"}),  # Viber's own rate limit
    (503, {"status_message": "unavailable"}),
]


async def test_failing_providers_delay_replies_but_lose_and_repeat_none(
    running: Stack,
    engine: AsyncEngine,
    kafka: str,
    core: httpx.AsyncClient,
    fakes: Fakes,
) -> None:
    run = run_id("pv")
    telegram = await open_tickets(
        engine,
        kafka,
        [str(9_100_000_000 + uuid.uuid4().int % 10**8 + c) for c in range(CHATS)],
        run,
    )
    viber = await open_tickets(
        engine,
        kafka,
        [f"vb{uuid.uuid4().hex[:10]}X{c}=" for c in range(CHATS)],
        run,
        Channel.VIBER,
        "viber_main",
    )
    replies = [
        (tickets[peer], f"{run} {name} #{n}")
        for name, tickets in (("telegram", telegram), ("viber", viber))
        for n, peer in enumerate(list(tickets) * (PER_CHANNEL // CHATS))
    ]
    await notifier_idle(kafka)  # nobody else's sends take the failures queued below
    port = running.config.service_ports["notifier"]
    failures = {"topic": OUTBOUND_MESSAGES.name}
    failed_before = await metric(port, "helpdesk_batch_failures_total", **failures)
    parked_before = await metric(port, DEAD, outcome="dead_lettered", **failures)
    for status, body in TELEGRAM_FAILURES:
        fakes.telegram.fail_next("sendMessage", status, body)
    for status, body in VIBER_FAILURES:
        fakes.viber.fail_next("send_message", status, body)

    started = time.monotonic()
    message_ids = await post_replies(core, replies, concurrency=4)
    # "sent" comes back from the notifier only after the provider accepted the message.
    states = await eventually(
        lambda: delivery_states(engine, message_ids),
        lambda s: s == {"sent": len(replies)},
        90,
        "every reply sent",
    )
    took = time.monotonic() - started
    await notifier_idle(kafka)

    assert states == {"sent": len(replies)}  # 5xx and 429 are not failed deliveries
    # Every queued failure was answered to one of these replies, and each reply was then
    # sent once: calls = replies + failures exactly (a reply sent twice would add one).
    assert fakes.telegram.take_failure("sendMessage") is None
    assert fakes.viber.take_failure("send_message") is None
    tg_calls = sent_texts(fakes.telegram, run)
    vb_calls = sent_texts(fakes.viber, run, "send_message")
    assert set(tg_calls) | set(vb_calls) == {body for _, body in replies}
    assert sum(tg_calls.values()) == PER_CHANNEL + len(TELEGRAM_FAILURES), tg_calls
    assert sum(vb_calls.values()) == PER_CHANNEL + len(VIBER_FAILURES), vb_calls
    # The failures were retried by the batch machinery (rewound, not dead-lettered), and
    # Telegram's retry_after was waited out: the replies were late, not lost.
    failed = await metric(port, "helpdesk_batch_failures_total", **failures) - failed_before
    assert failed >= len(TELEGRAM_FAILURES) + len(VIBER_FAILURES)
    assert await metric(port, DEAD, outcome="dead_lettered", **failures) == parked_before
    assert took >= 2.0  # two floods with retry_after=1
