"""The web-form slice through the six running services and the real broker.

gateway -> raw.webform.v1 -> messenger-ingest -> inbound.messages.v1 -> ticket-core
(PostgreSQL) -> ticket.events.v1 -> notifier -> Redis pub/sub push.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
from devstack.probes import end_offsets, eventually, produce_raw, produce_records, read_topic
from devstack.stack import Stack
from helpdesk_common.records import Channel, InboundMessage, SenderIdentity, ThreadHints
from helpdesk_common.topics import INBOUND_MESSAGES, raw_topic
from redis.asyncio import Redis

TIMEOUT = 30.0


def new_email() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}@example.com"


async def tickets_for(api: httpx.AsyncClient, email: str) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/tickets", params={"contact_email": email})
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def messages_of(api: httpx.AsyncClient, ticket_id: int) -> list[dict[str, Any]]:
    response = await api.get(f"/api/v1/tickets/{ticket_id}")
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def test_webform_creates_ticket_and_follow_up_joins_it(
    running: Stack, gateway: httpx.AsyncClient, tickets_api: httpx.AsyncClient
) -> None:
    assert running.infra is not None
    email = new_email()
    redis = Redis.from_url(running.infra.redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe("helpdesk:push")
    try:
        first = await gateway.post(
            "/api/v1/webform",
            json={
                "name": "Anna",
                "email": email.upper(),
                "text": "Printer jams\nsince Monday",
                "office": "Café №2",
            },
        )
        assert first.status_code == 202, first.text
        tickets = await eventually(
            lambda: tickets_for(tickets_api, email), lambda t: len(t) == 1, TIMEOUT, "ticket"
        )
        ticket = tickets[0]
        assert ticket["subject"] == "Printer jams"
        assert ticket["description"] == "Printer jams\nsince Monday\n\nOffice: Café №2"
        assert ticket["channel"] == "webform" and ticket["status"] == "open"
        assert ticket["contact_name"] == "Anna"

        # Form-encoded, as an HTML form posts it; same email, so the same open ticket.
        follow_up = await gateway.post(
            "/api/v1/webform", data={"email": email, "text": "Any news?"}
        )
        assert follow_up.status_code == 202
        messages = await eventually(
            lambda: messages_of(tickets_api, ticket["id"]),
            lambda m: len(m) == 2,
            TIMEOUT,
            "follow-up",
        )
        assert [m["text"] for m in messages] == [ticket["description"], "Any news?"]
        assert len(await tickets_for(tickets_api, email)) == 1
        # One correlation id follows each submission from the HTTP answer into the database.
        assert messages[0]["correlation_id"] == first.headers["x-correlation-id"]
        assert messages[1]["correlation_id"] == follow_up.headers["x-correlation-id"]

        # The notifier consumed the ticket events and pushed them to agents.
        pushed: list[dict[str, Any]] = []

        async def collect() -> list[dict[str, Any]]:
            while (
                message := await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
            ) is not None:
                pushed.append(json.loads(message["data"]))
            return [p for p in pushed if p["ticket_id"] == ticket["id"]]

        mine = await eventually(collect, lambda p: len(p) >= 3, TIMEOUT, "pushes")
        assert {p["kind"] for p in mine} == {"ticket.created", "message.added"}
        assert len({p["event_id"] for p in mine}) == len(mine)
    finally:
        await pubsub.aclose()
        await redis.aclose()


async def test_client_retry_with_idempotency_key_is_stored_once(
    gateway: httpx.AsyncClient, tickets_api: httpx.AsyncClient
) -> None:
    email = new_email()
    body = {"email": email, "text": "Please call me back"}
    headers = {"Idempotency-Key": f"form-{uuid.uuid4().hex}"}
    answers = [await gateway.post("/api/v1/webform", json=body, headers=headers) for _ in range(3)]
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["request_id"] for a in answers}) == 1
    # A later, different submission proves the pipeline got past the retries.
    await gateway.post("/api/v1/webform", json={"email": email, "text": "Still waiting"})
    tickets = await eventually(
        lambda: tickets_for(tickets_api, email), lambda t: len(t) == 1, TIMEOUT, "ticket"
    )
    messages = await eventually(
        lambda: messages_of(tickets_api, tickets[0]["id"]),
        lambda m: len(m) >= 2,
        TIMEOUT,
        "messages",
    )
    await asyncio.sleep(1.0)  # give a wrongly duplicated record time to land
    messages = await messages_of(tickets_api, tickets[0]["id"])
    assert [m["text"] for m in messages] == ["Please call me back", "Still waiting"]


def inbound(email: str, key: str, text: str) -> InboundMessage:
    return InboundMessage(
        idempotency_key=key,
        channel=Channel.WEBFORM,
        channel_account="default",
        sender=SenderIdentity(channel_user_id=email, email=email),
        thread=ThreadHints(conversation_id=email),
        text=text,
    )


async def test_redelivered_record_is_stored_once(
    running: Stack, tickets_api: httpx.AsyncClient
) -> None:
    assert running.infra is not None
    email = new_email()
    record = inbound(email, f"redelivery:{uuid.uuid4().hex}", "same record three times")
    await produce_records(running.infra.kafka, INBOUND_MESSAGES.name, [record, record, record])
    await produce_records(
        running.infra.kafka,
        INBOUND_MESSAGES.name,
        [inbound(email, f"later:{uuid.uuid4().hex}", "later")],
    )
    tickets = await eventually(
        lambda: tickets_for(tickets_api, email), lambda t: len(t) == 1, TIMEOUT, "ticket"
    )
    messages = await eventually(
        lambda: messages_of(tickets_api, tickets[0]["id"]),
        lambda m: len(m) >= 2,
        TIMEOUT,
        "messages",
    )
    assert [m["text"] for m in messages] == ["same record three times", "later"]


async def test_poison_record_is_dead_lettered_and_the_partition_moves_on(
    running: Stack, tickets_api: httpx.AsyncClient
) -> None:
    assert running.infra is not None
    email = new_email()
    key = f"webform:{email}".encode()
    poison = b'{"schema_version": 1, "channel": "webform", "text": "no idempotency key"}'
    await produce_raw(running.infra.kafka, INBOUND_MESSAGES.name, poison, key=key)
    await produce_records(
        running.infra.kafka,
        INBOUND_MESSAGES.name,
        [inbound(email, f"ok:{uuid.uuid4().hex}", "fine")],
    )
    await eventually(
        lambda: tickets_for(tickets_api, email), lambda t: len(t) == 1, TIMEOUT, "good record"
    )

    parked = [
        r for r in await read_topic(running.infra.kafka, INBOUND_MESSAGES.dlq) if r.key == key
    ]
    assert len(parked) == 1
    assert parked[0].value == poison
    headers = dict(parked[0].headers)
    assert b"undecodable inbound_message" in headers["dlq_error"]
    assert headers["dlq_source"].startswith(INBOUND_MESSAGES.name.encode())


async def test_bad_submissions_are_refused_and_nothing_is_published(
    running: Stack, gateway: httpx.AsyncClient
) -> None:
    assert running.infra is not None
    topic = raw_topic(Channel.WEBFORM).name
    before = await end_offsets(running.infra.kafka, topic)

    missing_text = await gateway.post("/api/v1/webform", json={"email": new_email()})
    assert missing_text.status_code == 422
    assert missing_text.json()["errors"][0]["field"] == "text"
    bad_email = await gateway.post(
        "/api/v1/webform", json={"email": "not-an-address", "text": "hi"}
    )
    assert bad_email.status_code == 422
    unreachable = await gateway.post("/api/v1/webform", json={"name": "no contact", "text": "hi"})
    assert unreachable.status_code == 422
    assert "email or a phone" in unreachable.text
    not_json = await gateway.post(
        "/api/v1/webform", content=b"{broken", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422
    array = await gateway.post("/api/v1/webform", json=["a", "b"])
    assert array.status_code == 422
    oversized = await gateway.post(
        "/api/v1/webform", json={"email": new_email(), "text": "x" * 300_000}
    )
    assert oversized.status_code == 413
    bad_account = await gateway.post(
        "/api/v1/webform/..%2Fetc", json={"email": new_email(), "text": "hi"}
    )
    assert bad_account.status_code == 404

    assert await end_offsets(running.infra.kafka, topic) == before


async def test_every_service_reports_ready_and_metrics(
    running: Stack, gateway: httpx.AsyncClient, tickets_api: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(timeout=30) as client:  # readiness probes every dependency
        for name, port in running.config.service_ports.items():
            ready = await client.get(f"http://127.0.0.1:{port}/readyz")
            assert ready.status_code == 200, (name, ready.text)
            assert all(ready.json()["checks"].values())
            metrics = await client.get(f"http://127.0.0.1:{port}/metrics")
            assert metrics.status_code == 200
            assert "python_info" in metrics.text
        # ticket-core counts the inbound records it handled (one of its own, so the test
        # does not depend on the tests that ran before it)
        email = new_email()
        sent = await gateway.post("/api/v1/webform", json={"email": email, "text": "Count me"})
        assert sent.status_code == 202, sent.text
        await eventually(lambda: tickets_for(tickets_api, email), bool, TIMEOUT, "ticket")
        core = running.config.service_ports["ticket-core"]
        handled = 'helpdesk_records_consumed_total{outcome="handled",topic="inbound.messages.v1"}'

        async def core_metrics() -> str:
            return (await client.get(f"http://127.0.0.1:{core}/metrics")).text

        await eventually(core_metrics, lambda text: handled in text, TIMEOUT, "handled count")


async def test_agent_reply_reaches_the_customer_by_email_and_reports_delivery(
    gateway: httpx.AsyncClient, tickets_api: httpx.AsyncClient, mail_sink: Any
) -> None:
    email = new_email()
    await gateway.post(
        "/api/v1/webform", json={"email": email, "subject": "Broken tap", "text": "Drips"}
    )
    tickets = await eventually(
        lambda: tickets_for(tickets_api, email), lambda t: len(t) == 1, TIMEOUT, "ticket"
    )
    ticket = tickets[0]

    reply = await tickets_api.post(
        f"/api/v1/tickets/{ticket['id']}/replies", json={"text": "A plumber comes at 10."}
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["delivery_state"] == "queued"
    note = await tickets_api.post(
        f"/api/v1/tickets/{ticket['id']}/replies", json={"text": "VIP customer", "internal": True}
    )
    assert note.status_code == 201

    async def mails() -> list[Any]:
        return [m for m in mail_sink.received if m["To"] == email]

    received = await eventually(mails, lambda m: len(m) == 1, TIMEOUT, "mail at the SMTP server")
    assert received[0]["Subject"] == f"Re: Broken tap [#{ticket['number']}]"
    assert received[0]["Message-ID"] == reply.json()["external_message_id"]
    assert "A plumber comes at 10." in received[0].get_body(("plain",)).get_content()

    async def reply_state() -> str | None:
        messages = await messages_of(tickets_api, ticket["id"])
        return next(m["delivery_state"] for m in messages if m["id"] == reply.json()["id"])

    await eventually(reply_state, lambda s: s == "sent", TIMEOUT, "delivery state")
    await asyncio.sleep(0.5)
    assert len(await mails()) == 1  # the internal note never left the building

    missing = await tickets_api.post("/api/v1/tickets/999999999/replies", json={"text": "x"})
    assert missing.status_code == 404
    empty = await tickets_api.post(f"/api/v1/tickets/{ticket['id']}/replies", json={"text": ""})
    assert empty.status_code == 422
