"""email-ingest under faults, as processes against the real Dovecot, broker, Redis and the
session's running ticket-core:

- two replicas configured with the same mailboxes share them through the Redis lease
  (never two pollers on one mailbox); the one holding leases is SIGKILLed in the middle
  of a stream of mail, the other takes its mailboxes over once the lease expires;
- the IMAP server restarts in the middle of a stream.

Either way every mail becomes exactly one stored message. A mail published but not yet
flagged when the replica died or the connection dropped is published again (at least
once), so the topic may carry it twice: only mail in flight, at most one per mailbox.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from devstack.processes import Child, free_port
from devstack.services import BY_NAME, service_child, wait_ready
from devstack.stack import Stack
from email_ingest.mailboxes import MailboxConfig
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import PASSWORD, Imap, InboundTap, mail, until

pytestmark = pytest.mark.e2e

MAILBOXES = 3
FIRST = 40  # mails per mailbox before the fault
AFTER = 5  # and after it
LEASE_TTL = 2.0


@pytest.fixture
async def email_ingest(running: Stack, redis_prefix: str) -> AsyncIterator[Callable[..., Any]]:
    """Start email-ingest processes polling only the given mailboxes (no ticket-core
    mailbox list, so they never touch the session's own mailboxes)."""
    children: list[Child] = []

    async def start(boxes: list[MailboxConfig], tag: str, replicas: int = 1) -> list[Any]:
        assert running.infra is not None
        env = {
            "EMAIL_INGEST_MAILBOXES": json.dumps(
                [{**b.model_dump(mode="json"), "password": PASSWORD} for b in boxes]
            ),
            "EMAIL_INGEST_REDIS_PREFIX": f"{redis_prefix}-{tag}",
            "EMAIL_INGEST_LEASE_TTL_SECONDS": str(LEASE_TTL),
            "EMAIL_INGEST_BACKOFF_INITIAL_SECONDS": "0.2",
            "EMAIL_INGEST_BACKOFF_MAX_SECONDS": "1",
        }
        started = []
        for n in range(replicas):
            port = free_port()
            child = service_child(
                BY_NAME["email-ingest"], running.infra, port, running.log_dir, env
            )
            child.log_path = running.log_dir / f"email-ingest-{tag}-{n}.log"
            child.start()
            children.append(child)
            started.append((child, port))
        await asyncio.to_thread(wait_ready, started, 120.0)
        return started

    yield start
    await asyncio.gather(*(asyncio.to_thread(c.stop) for c in children))


async def status(port: int) -> dict[str, dict[str, Any]]:
    """Mailbox name -> the replica's poller state (empty if it does not answer)."""
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            found = (await client.get(f"http://127.0.0.1:{port}/api/v1/mailboxes")).json()
    except httpx.HTTPError:
        return {}
    return {s["mailbox"]: s for s in found}


async def stored_once(engine: AsyncEngine, keys: set[str]) -> Counter[str]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT idempotency_key FROM messages WHERE idempotency_key = ANY(:k)"),
                {"k": sorted(keys)},
            )
        ).all()
    return Counter(str(r[0]) for r in rows)


async def append(imap: Imap, boxes: list[MailboxConfig], numbers: range) -> None:
    """Mail ``numbers`` into every mailbox, the mailboxes side by side."""

    def one(box: MailboxConfig) -> None:
        imap.append(box.folder, *(mail(box.name, n) for n in numbers))

    await asyncio.gather(*(asyncio.to_thread(one, box) for box in boxes))


def published(tap: InboundTap, boxes: list[MailboxConfig]) -> list[dict[str, Any]]:
    return [r for b in boxes for r in tap.of(b.account)]


async def every_mail_stored_once(
    engine: AsyncEngine, tap: InboundTap, boxes: list[MailboxConfig], at_most_twice: int
) -> None:
    total = MAILBOXES * (FIRST + AFTER)
    await until(
        lambda: len({r["idempotency_key"] for r in published(tap, boxes)}) >= total,
        60,
        "every mail published",
    )
    keys = Counter(r["idempotency_key"] for r in published(tap, boxes))
    assert len(keys) == total
    subjects = {r["subject"] for r in published(tap, boxes)}
    assert subjects == {f"{b.name} question {n}" for b in boxes for n in range(FIRST + AFTER)}
    twice = {k: n for k, n in keys.items() if n > 1}
    assert len(twice) <= at_most_twice and all(n == 2 for n in twice.values()), twice

    async def stored() -> Counter[str]:
        return await stored_once(engine, set(keys))

    deadline = asyncio.get_running_loop().time() + 60
    while len(found := await stored()) < total:
        assert asyncio.get_running_loop().time() < deadline, f"{len(found)} of {total} stored"
        await asyncio.sleep(0.3)
    assert found == Counter(dict.fromkeys(keys, 1))


async def test_replicas_share_mailboxes_by_lease_and_a_killed_ones_move_over(
    running: Stack,
    engine: AsyncEngine,
    make_mailbox: Callable[..., MailboxConfig],
    imap: Imap,
    tap: InboundTap,
    email_ingest: Callable[..., Any],
) -> None:
    boxes = [make_mailbox(idle_timeout_seconds=10.0) for _ in range(MAILBOXES)]
    (a, port_a), (b, port_b) = await email_ingest(boxes, boxes[0].name, replicas=2)
    ports = {"a": port_a, "b": port_b}
    overlaps: list[str] = []
    held: dict[str, set[str]] = {"a": set(), "b": set()}

    async def watch() -> None:
        """Sample both replicas: never one mailbox under two leases at once."""
        while True:
            states = {r: await status(p) for r, p in ports.items()}
            for box in boxes:
                holders = [r for r in ports if states[r].get(box.name, {}).get("holding_lease")]
                held.update({r: held[r] | {box.name} for r in holders})
                if len(holders) > 1:
                    overlaps.append(box.name)
            await asyncio.sleep(0.1)

    watching = asyncio.create_task(watch())
    try:
        await until(lambda: all(any(x.name in held[r] for r in held) for x in boxes), 30, "leases")
        await append(imap, boxes, range(FIRST))
        await until(lambda: len(published(tap, boxes)) >= 5, 30, "first mails")
        # SIGKILL the replica holding the most mailboxes, mid-stream.
        states = {r: await status(p) for r, p in ports.items()}
        count = {r: sum(s["holding_lease"] for s in states[r].values()) for r in ports}
        victim = max(count, key=lambda r: count[r])
        survivor = "b" if victim == "a" else "a"
        taken = {name for name, s in states[victim].items() if s["holding_lease"]}
        assert len(published(tap, boxes)) < MAILBOXES * FIRST, "the stream was over"
        (a if victim == "a" else b).kill()
        await append(imap, boxes, range(FIRST, FIRST + AFTER))
        await every_mail_stored_once(engine, tap, boxes, at_most_twice=len(taken))
        # The survivor holds every mailbox now, the killed one's after its lease expired.
        final = await status(ports[survivor])
        assert all(final[x.name]["holding_lease"] for x in boxes), final
        assert sum(final[name]["published"] for name in taken) > 0
    finally:
        watching.cancel()
    assert not overlaps, f"two replicas held one mailbox's lease at once: {overlaps}"


async def test_imap_server_restarted_mid_stream_every_mail_stored_once(
    running: Stack,
    engine: AsyncEngine,
    make_mailbox: Callable[..., MailboxConfig],
    imap: Imap,
    tap: InboundTap,
    email_ingest: Callable[..., Any],
    restart_dovecot: Callable[[], None],
) -> None:
    boxes = [make_mailbox(idle_timeout_seconds=10.0) for _ in range(MAILBOXES)]
    ((child, port),) = await email_ingest(boxes, boxes[0].name)
    await until_holding(port, boxes)
    await append(imap, boxes, range(FIRST))
    await until(lambda: len(published(tap, boxes)) >= 5, 30, "first mails")
    assert len(published(tap, boxes)) < MAILBOXES * FIRST, "the stream was over"
    await asyncio.to_thread(restart_dovecot)
    await append(imap, boxes, range(FIRST, FIRST + AFTER))
    await every_mail_stored_once(engine, tap, boxes, at_most_twice=MAILBOXES)
    states = await status(port)
    assert all(states[x.name]["sessions"] >= 2 for x in boxes), states  # they reconnected
    assert child.alive


async def until_holding(port: int, boxes: list[MailboxConfig]) -> None:
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        states = await status(port)
        if all(states.get(x.name, {}).get("waiting") for x in boxes):
            return
        assert asyncio.get_running_loop().time() < deadline, states
        await asyncio.sleep(0.2)
