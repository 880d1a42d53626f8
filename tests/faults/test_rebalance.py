"""A consumer rebalance while records are in flight: a second ticket-core replica joins
the group in the middle of a stream, takes partitions and works, then leaves (SIGTERM)
while the stream still flows, and its partitions go back to the first. Every record is
stored once, every conversation has one ticket and its messages in the order written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from devstack.faults import start_replica
from devstack.probes import eventually, metric
from devstack.stack import Stack
from faults_helpers import (
    in_order,
    produce_stream,
    run_id,
    stored,
    texts_by_conversation,
    tickets_of_run,
    webform_inbound,
)
from helpdesk_common.topics import INBOUND_MESSAGES
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.e2e

CUSTOMERS = 40  # one message from each per round
CONSUMED = "helpdesk_records_consumed_total"
HANDLED = {"outcome": "handled", "topic": INBOUND_MESSAGES.name}


async def test_a_replica_joining_and_leaving_mid_stream_loses_and_repeats_nothing(
    running: Stack, engine: AsyncEngine, kafka: str
) -> None:
    run = run_id("rb")
    rounds = 0
    first = running.config.service_ports["ticket-core"]

    async def produce_until(done: Callable[[], Awaitable[bool]], what: str) -> None:
        """Rounds of the stream (one message per customer) until ``done()``."""
        nonlocal rounds
        for _ in range(300):
            batch = [webform_inbound(run, c, rounds) for c in range(CUSTOMERS)]
            await produce_stream(kafka, INBOUND_MESSAGES.name, batch, pause=0.0)
            rounds += 1
            if await done():
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"never: {what}")

    joining = asyncio.create_task(asyncio.to_thread(start_replica, running, "ticket-core", "rb"))
    await produce_until(lambda: _done(joining), "second replica ready")
    child, second = joining.result()
    try:
        # It joined the group mid-stream: it handles records now (the first keeps going).
        at_join = await metric(first, CONSUMED, **HANDLED)
        await produce_until(
            lambda: _over(metric(second, CONSUMED, **HANDLED), 0), "second replica working"
        )
        await produce_until(lambda: _over(metric(first, CONSUMED, **HANDLED), at_join), "first")
    finally:
        took = await metric(second, CONSUMED, **HANDLED)
        # It leaves while records are still arriving and in its hands.
        leaving = asyncio.create_task(asyncio.to_thread(child.stop))
        await produce_until(lambda: _done(leaving), "second replica stopped")
    for _ in range(3):  # a little more once the first has all the partitions again
        await produce_until(_true, "")

    total = rounds * CUSTOMERS
    messages, keys = await eventually(
        lambda: stored(engine, f"{run}:"), lambda s: s[1] >= total, 90, "every record stored"
    )
    assert (messages, keys) == (total, total)
    assert await tickets_of_run(engine, f"webform:default:{run}-") == CUSTOMERS
    by_conversation = await texts_by_conversation(engine, f"{run}:")
    assert all(in_order(texts) for texts in by_conversation.values())
    assert took > 0
    assert child.process is not None and child.process.returncode == -15  # a clean leave


async def _done(task: asyncio.Task[object]) -> bool:
    return task.done()


async def _over(value: Awaitable[float], floor: float) -> bool:
    return await value > floor


async def _true() -> bool:
    return True
