"""Parked records are re-published by the replay command once the cause is fixed."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from devstack.probes import eventually
from devstack.stack import Stack
from helpdesk_common.dlq_replay import main as replay_main
from helpdesk_common.dlq_replay import replay
from helpdesk_common.records import Channel, InboundMessage, SenderIdentity, ThreadHints
from helpdesk_common.topics import INBOUND_MESSAGES


async def park(bootstrap: str, record: InboundMessage, reason: str) -> None:
    """What the consumer's dead-letter sink does: original bytes, key, reason headers."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            INBOUND_MESSAGES.dlq,
            record.model_dump_json().encode(),
            key=record.partition_key().encode(),
            headers=[
                ("correlation_id", record.correlation_id.encode()),
                ("dlq_error", reason.encode()),
                ("dlq_source", f"{INBOUND_MESSAGES.name}/0/42".encode()),
            ],
        )
    finally:
        await producer.stop()


async def test_replay_republishes_parked_records_once(
    running: Stack,
    tickets_api: httpx.AsyncClient,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert running.infra is not None
    bootstrap = running.infra.kafka
    # Drain whatever earlier tests parked, so this test counts only its own records.
    await replay(bootstrap, INBOUND_MESSAGES.name)

    email = f"parked-{uuid.uuid4().hex[:8]}@example.com"
    record = InboundMessage(
        idempotency_key=f"parked:{uuid.uuid4().hex}",
        channel=Channel.WEBFORM,
        channel_account="default",
        sender=SenderIdentity(channel_user_id=email, email=email),
        thread=ThreadHints(conversation_id=email),
        text="parked while a bug was being fixed",
    )
    await park(bootstrap, record, "RuntimeError: bug #123")

    dry = await replay(bootstrap, INBOUND_MESSAGES.name, dry_run=True)
    assert dry.replayed == 1 and dry.reasons == {"RuntimeError: bug #123": 1}
    assert (await tickets_api.get("/api/v1/tickets", params={"contact_email": email})).json()[
        "total"
    ] == 0

    done = await replay(bootstrap, INBOUND_MESSAGES.name)
    assert done.replayed == 1
    tickets = await eventually(
        lambda: _tickets(tickets_api, email), lambda t: len(t) == 1, 30, "replayed record stored"
    )
    assert tickets[0]["description"] == "parked while a bug was being fixed"

    again = await replay(bootstrap, INBOUND_MESSAGES.name)
    assert again.replayed == 0  # the replay group committed past it

    # The command line says what it would do.
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
    await park(bootstrap, record, "RuntimeError: bug #124")
    assert await asyncio.to_thread(replay_main, [INBOUND_MESSAGES.name, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would replay 1 record(s) to inbound.messages.v1" in out
    assert "RuntimeError: bug #124" in out


async def _tickets(api: httpx.AsyncClient, email: str) -> list[dict[str, object]]:
    response = await api.get("/api/v1/tickets", params={"contact_email": email})
    return list(response.json()["items"])
