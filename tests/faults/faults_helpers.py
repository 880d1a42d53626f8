"""Record builders and probes shared by the fault-injection tests."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from devstack.fake_providers import FakeServer
from devstack.probes import eventually, group_lag, produce_records
from helpdesk_common.broker import record_headers
from helpdesk_common.dlq_replay import REPLAY_GROUP
from helpdesk_common.records import (
    Channel,
    InboundMessage,
    RawWebhook,
    Record,
    SenderIdentity,
    ThreadHints,
)
from helpdesk_common.topics import INBOUND_MESSAGES, OUTBOUND_MESSAGES
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

SEED = int(os.environ.get("FAULTS_SEED", "9"))  # seeds every test's random choices
ACCOUNT = "support_bot"  # the Telegram account of the running system (devstack.test_system)


def run_id(kind: str) -> str:
    return f"{kind}{uuid.uuid4().hex[:8]}"


def numeric_base() -> int:
    """A per-run block of 10,000 Telegram ids (update and user ids): ``<base><4 digits>``,
    so one run's keys share a decimal prefix and never meet another run's."""
    return int(f"7{uuid.uuid4().int % 10**9:09d}") * 10_000


def telegram_update(update_id: int, user_id: int, text_: str, **message: Any) -> dict[str, Any]:
    """A private-chat text message update, as the Bot API posts it."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 1_000_000,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Fault"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Fault", "last_name": "Test"},
            "text": text_,
            **message,
        },
    }


def raw_telegram(update: dict[str, Any] | str, account: str = ACCOUNT) -> RawWebhook:
    """What the gateway publishes for a verified Telegram webhook (raw id = body hash)."""
    body = update if isinstance(update, str) else json.dumps(update)
    digest = hashlib.sha256(f"telegram:{account}:{body}".encode()).hexdigest()
    return RawWebhook(
        raw_id=digest[:32], channel=Channel.TELEGRAM, channel_account=account, body=body
    )


def chat_inbound(
    peer: str, key: str, text_: str, channel: Channel = Channel.TELEGRAM, account: str = ACCOUNT
) -> InboundMessage:
    """A messenger message (private chat with ``peer``) as messenger-ingest hands it on."""
    return InboundMessage(
        idempotency_key=key,
        channel=channel,
        channel_account=account,
        sender=SenderIdentity(channel_user_id=peer, display_name="Fault Test"),
        thread=ThreadHints(conversation_id=peer),
        subject=f"fault test chat {peer}",
        text=text_,
    )


async def stored(engine: AsyncEngine, key_prefix: str) -> tuple[int, int]:
    """(messages, distinct idempotency keys) whose key starts with ``key_prefix``."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT idempotency_key) FROM messages "
                    "WHERE idempotency_key LIKE :p"
                ),
                {"p": f"{key_prefix}%"},
            )
        ).one()
    return int(row[0]), int(row[1])


async def texts_by_conversation(engine: AsyncEngine, key_prefix: str) -> dict[str, list[str]]:
    """Stored texts per conversation (ticket), in the order they were stored."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT t.conversation_key, m.text FROM messages m "
                    "JOIN tickets t ON t.id = m.ticket_id "
                    "WHERE m.idempotency_key LIKE :p ORDER BY m.id"
                ),
                {"p": f"{key_prefix}%"},
            )
        ).all()
    found: dict[str, list[str]] = {}
    for conversation, body in rows:
        found.setdefault(str(conversation), []).append(str(body))
    return found


async def open_tickets(
    engine: AsyncEngine,
    kafka: str,
    peers: Sequence[str],
    run: str,
    channel: Channel = Channel.TELEGRAM,
    account: str = ACCOUNT,
) -> dict[str, int]:
    """One messenger ticket per peer, opened by a customer message: peer -> ticket id."""
    await produce_records(
        kafka,
        INBOUND_MESSAGES.name,
        [chat_inbound(p, f"{run}:open:{p}", f"help, {p}", channel, account) for p in peers],
    )
    keys = [f"{channel.value}:{account}:{peer}" for peer in peers]

    async def probe() -> dict[str, int]:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT conversation_key, id FROM tickets WHERE conversation_key = ANY(:k)"
                    ),
                    {"k": keys},
                )
            ).all()
        return {str(key).split(":", 2)[2]: int(ticket_id) for key, ticket_id in rows}

    return await eventually(probe, lambda t: len(t) == len(peers), 60, "tickets opened")


async def telegram_tickets(
    engine: AsyncEngine, kafka: str, chats: Sequence[int], run: str
) -> dict[int, int]:
    """One Telegram ticket per chat: chat -> ticket id."""
    found = await open_tickets(engine, kafka, [str(c) for c in chats], run)
    return {int(peer): ticket_id for peer, ticket_id in found.items()}


async def post_replies(
    core: httpx.AsyncClient,
    replies: Sequence[tuple[int, str]],
    *,
    concurrency: int = 16,
    on_posted: Callable[[int], Awaitable[None]] | None = None,
) -> list[int]:
    """POST agent replies (ticket id, text); one ticket's replies in order, tickets in
    parallel. Returns the stored message ids. ``on_posted(count)`` runs after each one."""
    by_ticket: dict[int, list[tuple[int, str]]] = {}
    for index, (ticket_id, body) in enumerate(replies):
        by_ticket.setdefault(ticket_id, []).append((index, body))
    ids: list[int] = [0] * len(replies)
    posted = 0
    semaphore = asyncio.Semaphore(concurrency)

    async def lane(items: list[tuple[int, str]], ticket_id: int) -> None:
        nonlocal posted
        async with semaphore:
            for index, body in items:
                response = await core.post(
                    f"/api/v1/tickets/{ticket_id}/replies", json={"text": body}
                )
                assert response.status_code == 201, response.text
                ids[index] = int(response.json()["id"])
                posted += 1
                if on_posted is not None:
                    await on_posted(posted)

    await asyncio.gather(*(lane(items, t) for t, items in by_ticket.items()))
    return ids


def sent_in_order(fake: FakeServer, marker: str, method: str = "sendMessage") -> list[str]:
    """The texts containing ``marker`` sent to the provider (Telegram's sendMessage by
    default; Viber's is send_message), in the order the calls arrived."""
    return [
        str(c.params.get("text"))
        for c in fake.calls_of(method)
        if marker in str(c.params.get("text"))
    ]


def sent_texts(fake: FakeServer, marker: str, method: str = "sendMessage") -> Counter[str]:
    """How many times each text containing ``marker`` was sent to the provider."""
    return Counter(sent_in_order(fake, marker, method))


async def delivery_states(engine: AsyncEngine, message_ids: Iterable[int]) -> Counter[str]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT delivery_state FROM messages WHERE id = ANY(:ids)"),
                {"ids": list(message_ids)},
            )
        ).all()
    return Counter(str(r[0]) for r in rows)


async def notifier_idle(kafka: str, timeout: float = 60) -> None:
    """Wait until the notifier has committed every outbound record (nothing in flight)."""
    await eventually(
        lambda: group_lag(kafka, "notifier.outbound", OUTBOUND_MESSAGES.name),
        lambda lag: lag == 0,
        timeout,
        "notifier outbound lag",
    )


async def produce_stream(
    kafka: str,
    topic: str,
    records: Sequence[Record],
    *,
    chunk: int = 100,
    pause: float = 0.05,
) -> None:
    """Produce records as a steady stream (chunks with pauses), keys and headers as the
    services set them; returns after the last chunk was acked."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka, linger_ms=5, max_batch_size=1 << 20)
    await producer.start()
    try:
        for start in range(0, len(records), chunk):
            futures = []
            for record in records[start : start + chunk]:
                headers = [(k, v.encode()) for k, v in record_headers(record, "test").items()]
                futures.append(
                    await producer.send(
                        topic,
                        record.model_dump_json().encode(),
                        key=record.partition_key().encode(),  # type: ignore[attr-defined]
                        headers=headers,
                    )
                )
            await asyncio.gather(*futures)
            await asyncio.sleep(pause)
    finally:
        await producer.stop()


def webform_inbound(run: str, customer: int, n: int) -> InboundMessage:
    """Customer ``customer``'s ``n``-th web-form message (one conversation per customer)."""
    email = f"{run}-{customer}@example.com"
    return InboundMessage(
        idempotency_key=f"{run}:{customer}:{n}",
        channel=Channel.WEBFORM,
        channel_account="default",
        sender=SenderIdentity(channel_user_id=email, email=email),
        thread=ThreadHints(conversation_id=email),
        text=f"{run} c{customer} #{n}",
    )


async def tickets_of_run(engine: AsyncEngine, conversation_prefix: str) -> int:
    async with engine.connect() as conn:
        found = await conn.scalar(
            text("SELECT count(*) FROM tickets WHERE conversation_key LIKE :p"),
            {"p": f"{conversation_prefix}%"},
        )
    return int(found or 0)


async def outbox_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM outbox")) or 0)


def in_order(texts: Sequence[str]) -> bool:
    """Texts ending in ``#<n>`` come in increasing n."""
    numbers = [int(t.rsplit("#", 1)[1]) for t in texts]
    return numbers == sorted(numbers)


async def ready(port: int) -> bool:
    try:
        async with httpx.AsyncClient(timeout=3) as client:
            return (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


async def discard_parked(kafka: str, topic: str) -> None:
    """What an operator does with dead letters that must never be replayed: move the
    replay command's group past them, so a later ``dlq_replay`` of ``topic`` (another
    test's, or a person's) does not send them round again."""
    dlq = f"{topic}.dlq"
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=REPLAY_GROUP)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(dlq) or set()
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(dlq) or set()
        tps = [TopicPartition(dlq, p) for p in partitions]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.commit({tp: end for tp, end in ends.items() if end})
    finally:
        await consumer.stop()
