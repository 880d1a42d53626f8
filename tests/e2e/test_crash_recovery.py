"""ticket-core dies (SIGKILL) or is stopped (SIGTERM) mid-stream: nothing lost, nothing twice.

Thousands of inbound records (some redelivered) go straight to ``inbound.messages.v1``;
ticket-core is killed while it works through them and started again. Afterwards every
record is stored exactly once and every conversation has exactly one ticket.
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Callable

import pytest
from devstack.probes import eventually, produce_records
from devstack.services import wait_ready
from devstack.stack import Stack
from helpdesk_common.records import Channel, InboundMessage, SenderIdentity, ThreadHints
from helpdesk_common.topics import INBOUND_MESSAGES
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

CUSTOMERS = 300
PER_CUSTOMER = 10


def stream(run: str) -> list[InboundMessage]:
    records = []
    for n in range(PER_CUSTOMER):
        for c in range(CUSTOMERS):
            email = f"{run}-{c}@example.com"
            records.append(
                InboundMessage(
                    idempotency_key=f"{run}:{c}:{n}",
                    channel=Channel.WEBFORM,
                    channel_account="default",
                    sender=SenderIdentity(channel_user_id=email, email=email),
                    thread=ThreadHints(conversation_id=email),
                    text=f"message {n}",
                )
            )
    return records


async def stored(engine: AsyncEngine, run: str) -> tuple[int, int, int]:
    """(messages, distinct idempotency keys, tickets) of one run."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT idempotency_key), count(DISTINCT ticket_id) "
                    "FROM messages WHERE idempotency_key LIKE :p"
                ),
                {"p": f"{run}:%"},
            )
        ).one()
        tickets = await conn.scalar(
            text("SELECT count(*) FROM tickets WHERE conversation_key LIKE :p"),
            {"p": f"webform:default:{run}-%"},
        )
    return int(row[0]), int(row[1]), int(tickets or 0)


def restart_ticket_core(stack: Stack) -> None:
    child = stack.start_service("ticket-core")
    wait_ready([(child, stack.config.service_ports["ticket-core"])])


async def outbox_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM outbox")) or 0)


@pytest.mark.parametrize(
    ("how", "stop"),
    [
        ("sigkill", lambda child: child.kill()),
        ("sigterm", lambda child: child.stop(signal.SIGTERM)),
    ],
)
async def test_ticket_core_stopped_mid_stream_loses_nothing_and_stores_nothing_twice(
    running: Stack, engine: AsyncEngine, how: str, stop: Callable[..., object]
) -> None:
    assert running.infra is not None
    run = f"crash{how}{uuid.uuid4().hex[:6]}"
    records = stream(run)
    redelivered = records[::7]  # an at-least-once producer's retries
    total = len(records)

    await produce_records(running.infra.kafka, INBOUND_MESSAGES.name, records[: total // 2])
    # Stop it while it is part-way through the stream.
    await eventually(
        lambda: stored(engine, run), lambda s: s[0] >= total // 10, 60, "first records stored"
    )
    child = running.services["ticket-core"]
    stop(child)
    if how == "sigterm":
        # uvicorn re-raises SIGTERM after its graceful shutdown, hence -15 rather than 0.
        assert child.process is not None and child.process.returncode == -signal.SIGTERM
        last_lines = child.log_path.read_text().splitlines()[-3:]
        assert any('"service_stopped"' in line for line in last_lines), last_lines
    before_restart = await stored(engine, run)
    assert before_restart[0] < total

    await produce_records(
        running.infra.kafka, INBOUND_MESSAGES.name, records[total // 2 :] + redelivered
    )
    restart_ticket_core(running)

    messages, keys, tickets = await eventually(
        lambda: stored(engine, run), lambda s: s[0] >= total, 120, "all records stored"
    )
    assert (messages, keys, tickets) == (total, total, CUSTOMERS)
    # The events those records announce all left the outbox.
    await eventually(lambda: outbox_rows(engine), lambda n: n == 0, 30, "outbox drained")
