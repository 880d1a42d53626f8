"""Two replicas of ticket-core share the partitions of inbound.messages.v1: each handles
part of the stream, and every record is stored exactly once."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
from devstack.probes import eventually, produce_records
from devstack.processes import free_port
from devstack.services import BY_NAME, service_child, wait_ready
from devstack.stack import Stack
from helpdesk_common.records import Channel, InboundMessage, SenderIdentity, ThreadHints
from helpdesk_common.topics import INBOUND_MESSAGES
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_HANDLED = re.compile(
    r"helpdesk_records_consumed_total"
    r'\{outcome="handled",topic="inbound\.messages\.v1"\} ([0-9.e+]+)'
)


def records(run: str, count: int) -> list[InboundMessage]:
    out = []
    for n in range(count):
        email = f"{run}-{n % 50}@example.com"
        out.append(
            InboundMessage(
                idempotency_key=f"{run}:{n}",
                channel=Channel.WEBFORM,
                channel_account="default",
                sender=SenderIdentity(channel_user_id=email, email=email),
                thread=ThreadHints(conversation_id=email),
                text=f"message {n}",
            )
        )
    return out


async def handled(port: int) -> float:
    async with httpx.AsyncClient(timeout=5) as client:
        metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    found = _HANDLED.search(metrics)
    return float(found.group(1)) if found else 0.0


async def stored(engine: AsyncEngine, run: str) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(
            text("SELECT count(*) FROM messages WHERE idempotency_key LIKE :p"), {"p": f"{run}:%"}
        )
    return int(count or 0)


async def test_two_ticket_core_replicas_share_the_work_without_duplicates(
    running: Stack, engine: AsyncEngine
) -> None:
    assert running.infra is not None
    first_port = running.config.service_ports["ticket-core"]
    second_port = free_port()
    second = service_child(
        BY_NAME["ticket-core"],
        running.infra,
        second_port,
        running.log_dir,
        running.service_env.get("ticket-core"),
    )
    second.log_path = running.log_dir / "ticket-core-2.log"
    second.start()
    try:
        await asyncio.to_thread(wait_ready, [(second, second_port)], 60.0)
        # Wait until the group has rebalanced: both replicas handle probe records.
        before = (await handled(first_port), await handled(second_port))

        async def both_working() -> tuple[float, float]:
            await produce_records(
                running.infra.kafka,
                INBOUND_MESSAGES.name,
                records(f"probe{uuid.uuid4().hex[:6]}", 16),
            )  # type: ignore[union-attr]
            await asyncio.sleep(1.0)
            return (await handled(first_port) - before[0], await handled(second_port) - before[1])

        await eventually(both_working, lambda d: d[0] > 0 and d[1] > 0, 60, "both replicas working")

        run = f"scale{uuid.uuid4().hex[:6]}"
        start = (await handled(first_port), await handled(second_port))
        await produce_records(running.infra.kafka, INBOUND_MESSAGES.name, records(run, 1000))
        await eventually(lambda: stored(engine, run), lambda n: n >= 1000, 90, "all stored")
        shares = (await handled(first_port) - start[0], await handled(second_port) - start[1])
        assert await stored(engine, run) == 1000  # none lost, none twice
        assert shares[0] > 0 and shares[1] > 0, shares
        async with engine.connect() as conn:
            tickets = await conn.scalar(
                text("SELECT count(*) FROM tickets WHERE conversation_key LIKE :p"),
                {"p": f"webform:default:{run}-%"},
            )
        assert tickets == 50  # one ticket per conversation, whichever replica saw it first
    finally:
        await asyncio.to_thread(second.stop)
