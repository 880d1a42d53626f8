"""Several inbound consumers in one ticket-core process (``TICKET_CORE_INBOUND_CONSUMERS``):
a replica started with 2 puts two members in the consumer group next to the session's own
ticket-core, and both take inbound partitions (its log names each member's assignment).
A stream of conversations then goes through the three members: every record is stored
once, every conversation has one ticket and its messages in the order written.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

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

CUSTOMERS = 40
ROUNDS = 5
CONSUMED = "helpdesk_records_consumed_total"
HANDLED = {"outcome": "handled", "topic": INBOUND_MESSAGES.name}
_MEMBER = re.compile(r"Consumer (\S+) assigned to partitions: \((.*)\)")


def inbound_members(log: Path) -> dict[str, int]:
    """Each consumer-group member's latest number of inbound partitions, from a log."""
    members: dict[str, int] = {}
    for line in log.read_text().splitlines():
        try:
            event = str(json.loads(line).get("event", ""))
        except json.JSONDecodeError:
            continue
        found = _MEMBER.search(event)
        if found and INBOUND_MESSAGES.name in found[2]:
            members[found[1]] = found[2].count(INBOUND_MESSAGES.name)
    return members


async def test_two_inbound_consumers_in_one_process_share_partitions_and_lose_nothing(
    running: Stack, engine: AsyncEngine, kafka: str
) -> None:
    run = run_id("ic")
    child, port = await asyncio.to_thread(
        start_replica, running, "ticket-core", "ic", {"TICKET_CORE_INBOUND_CONSUMERS": "2"}
    )
    try:
        assert child.log_path is not None
        log = child.log_path
        # Both members of this process end up with inbound partitions of their own.
        members = await eventually(
            lambda: asyncio.to_thread(inbound_members, log),
            lambda m: len([n for n in m.values() if n > 0]) == 2,
            90,
            "two inbound consumers with partitions in the replica",
        )
        assert len(members) == 2
        for n in range(ROUNDS):
            batch = [webform_inbound(run, c, n) for c in range(CUSTOMERS)]
            await produce_stream(kafka, INBOUND_MESSAGES.name, batch, pause=0.0)
        total = ROUNDS * CUSTOMERS
        messages, keys = await eventually(
            lambda: stored(engine, f"{run}:"), lambda s: s[1] >= total, 90, "every record stored"
        )
        assert (messages, keys) == (total, total)
        assert await tickets_of_run(engine, f"webform:default:{run}-") == CUSTOMERS
        by_conversation = await texts_by_conversation(engine, f"{run}:")
        assert len(by_conversation) == CUSTOMERS
        assert all(in_order(texts) for texts in by_conversation.values())
        assert await metric(port, CONSUMED, **HANDLED) > 0
    finally:
        await asyncio.to_thread(child.stop)
