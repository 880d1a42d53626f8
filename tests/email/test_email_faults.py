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
FIRST = 40  # mails per mailbox (a stream over a few seconds) ...
AFTER = 5  # ... and a few more, so some arrive after the fault
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


class MailStream:
    """Mail arriving over a few seconds: round ``n`` puts mail ``n`` into every mailbox,
    with a pause between rounds. ``lock`` is held during a round (a fault that makes
    APPEND fail, like an IMAP restart, takes it first)."""

    def __init__(self, imap: Imap, boxes: list[MailboxConfig], pause: float = 0.05) -> None:
        self.lock = asyncio.Lock()
        self._imap, self._boxes, self._pause = imap, boxes, pause
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        for n in range(FIRST + AFTER):
            async with self.lock:
                await append(self._imap, self._boxes, range(n, n + 1))
            await asyncio.sleep(self._pause)


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
        stream = MailStream(imap, boxes)
        await until(lambda: len(published(tap, boxes)) >= 10, 30, "first mails")
        # SIGKILL the replica holding the most mailboxes, mid-stream.
        states = {r: await status(p) for r, p in ports.items()}
        count = {r: sum(s["holding_lease"] for s in states[r].values()) for r in ports}
        victim = max(count, key=lambda r: count[r])
        survivor = "b" if victim == "a" else "a"
        taken = {name for name, s in states[victim].items() if s["holding_lease"]}
        (a if victim == "a" else b).kill()
        assert not stream.task.done(), "the stream was over before the kill"
        await stream.task
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
    stream = MailStream(imap, boxes)
    await until(lambda: len(published(tap, boxes)) >= 10, 30, "first mails")
    async with stream.lock:  # between two rounds of APPENDs
        await asyncio.to_thread(restart_dovecot)
    assert not stream.task.done(), "the stream was over before the restart"
    await stream.task
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
