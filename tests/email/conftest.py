"""A real IMAP server (Debian's Dovecot) for the email tests, plus helpers around it.

Dovecot runs as root without systemd (``dovecot -F -c CONF``) with its own config, state
and log under a temp dir, on free ports: plain IMAP (STARTTLS offered) and IMAPS, with a
self-signed certificate for 127.0.0.1. Users come from a passwd-file, mail is a maildir
owned by uid 65534. ``scripts/install-test-servers.sh`` (run by ``make test``) installs it.

The test side talks to the server with the stdlib's ``imaplib`` (not the code under test).
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from devstack.dovecot import USER, Dovecot, dovecot_binary, running_dovecot
from email_ingest.mailboxes import MailboxConfig
from email_ingest.pipeline import build_inbound
from email_ingest.poller import Convert, MailboxPoller, PollerDeps, PollerTuning
from faststream.kafka import KafkaBroker
from helpdesk_common.blobstore import FilesystemBlobStore
from helpdesk_common.broker import make_broker
from helpdesk_common.settings import ServiceSettings
from helpdesk_common.topics import INBOUND_MESSAGES
from redis.asyncio import Redis

PASSWORD = "imap-test-password-7f3a"
OUR_ADDRESS = "support@helpdesk.test"

FAST = PollerTuning(
    lease_ttl_seconds=1.5,
    imap_timeout_seconds=5.0,
    backoff_initial_seconds=0.1,
    backoff_max_seconds=1.0,
    stop_grace_seconds=5.0,
)


class Imap:
    """Test-side IMAP client (stdlib imaplib, one connection per call)."""

    def __init__(self, server: Dovecot) -> None:
        self.server = server

    @contextlib.contextmanager
    def _conn(self) -> Iterator[imaplib.IMAP4]:
        conn = imaplib.IMAP4("127.0.0.1", self.server.imap_port, timeout=10)
        try:
            conn.login(USER, PASSWORD)
            yield conn
        finally:
            with contextlib.suppress(Exception):
                conn.logout()

    def create(self, folder: str) -> None:
        with self._conn() as conn:
            typ, data = conn.create(folder)
            assert typ == "OK", data

    def delete(self, folder: str) -> None:
        with self._conn() as conn:
            typ, data = conn.delete(folder)
            assert typ == "OK", data

    def append(self, folder: str, *raws: bytes) -> None:
        with self._conn() as conn:
            for raw in raws:
                typ, data = conn.append(folder, None, None, raw)
                assert typ == "OK", data

    def flags(self, folder: str) -> dict[int, set[str]]:
        """UID -> flags of every mail in the folder."""
        with self._conn() as conn:
            conn.select(folder, readonly=True)
            _, data = conn.uid("FETCH", "1:*", "(FLAGS)")
            out: dict[int, set[str]] = {}
            for item in data:
                if not isinstance(item, bytes):
                    continue
                uid = re.search(rb"UID (\d+)", item)
                flags = re.search(rb"FLAGS \(([^)]*)\)", item)
                if uid and flags:
                    out[int(uid.group(1))] = set(flags.group(1).decode().split())
            return out

    def count(self, folder: str) -> int:
        with self._conn() as conn:
            typ, data = conn.select(folder, readonly=True)
            assert typ == "OK", data
            return int(data[0] or 0)

    def uidvalidity(self, folder: str) -> int:
        with self._conn() as conn:
            typ, data = conn.status(folder, "(UIDVALIDITY)")
            assert typ == "OK", data
            return int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))  # type: ignore[union-attr,arg-type]


class InboundTap:
    """Every record on inbound.messages.v1 since the session started, read in background."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.records: list[dict[str, Any]] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        parts = [
            TopicPartition(INBOUND_MESSAGES.name, p) for p in range(INBOUND_MESSAGES.partitions)
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        self._consumer = consumer
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=100)
            for part in batch.values():
                self.records.extend(json.loads(r.value) for r in part if r.value)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    def of(self, account: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("channel_account") == account]

    async def wait_for(
        self, account: str, count: int, timeout: float = 15.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.of(account)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{account}: {len(self.of(account))} of {count} records after {timeout}s"
                )
            await asyncio.sleep(0.05)
        return self.of(account)


def mail(tag: str, n: int, *, sender: str = "customer@example.com") -> bytes:
    """A simple text/plain RFC 822 mail with a unique Message-ID."""
    return (
        f"From: Customer <{sender}>\r\n"
        f"To: {OUR_ADDRESS}\r\n"
        f"Subject: {tag} question {n}\r\n"
        f"Message-ID: <{tag}-{n}@example.com>\r\n"
        "Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"Hello, this is mail {n}.\r\n"
    ).encode()


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.05)


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    binary = dovecot_binary()
    if binary is None:
        pytest.skip("dovecot is not installed: run scripts/install-test-servers.sh")
    with running_dovecot(binary, PASSWORD, "helpdesk-dovecot-") as server:
        yield server


@pytest.fixture(scope="session")
def imap(dovecot: Dovecot) -> Imap:
    return Imap(dovecot)


@pytest.fixture
def restart_dovecot(dovecot: Dovecot) -> Callable[[], None]:
    return dovecot.restart


@pytest.fixture(scope="session")
async def broker(infra: Any) -> AsyncIterator[KafkaBroker]:
    broker = make_broker(
        ServiceSettings(service_name="email-ingest-test", kafka_bootstrap_servers=infra.kafka)
    )
    await broker.start()
    yield broker
    await broker.stop()


@pytest.fixture(scope="session")
async def redis(infra: Any) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
async def tap(infra: Any) -> AsyncIterator[InboundTap]:
    tap = InboundTap(infra.kafka)
    await tap.start()
    yield tap
    await tap.stop()


@pytest.fixture(scope="session")
def redis_prefix() -> str:
    return f"email-ingest-test-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def make_mailbox(
    dovecot: Dovecot, imap: Imap, request: pytest.FixtureRequest
) -> Callable[..., MailboxConfig]:
    """A mailbox config on a fresh folder of its own (the folder is created)."""

    def make(create: bool = True, **overrides: Any) -> MailboxConfig:
        name = overrides.pop("name", None) or f"t{uuid.uuid4().hex[:8]}"
        fields: dict[str, Any] = {
            "name": name,
            "host": "127.0.0.1",
            "port": dovecot.imap_port,
            "security": "none",
            "login": USER,
            "password": PASSWORD,
            "folder": f"F{name}",
            "own_addresses": [OUR_ADDRESS],
            "poll_interval_seconds": 0.3,
            "idle_timeout_seconds": 10.0,
        }
        fields.update(overrides)
        if create:
            imap.create(fields["folder"])
        return MailboxConfig.model_validate(fields)

    return make


PollerFactory = Callable[..., MailboxPoller]


@pytest.fixture
async def make_poller(
    broker: KafkaBroker, redis: Redis, tmp_path: Path, redis_prefix: str
) -> AsyncIterator[PollerFactory]:
    """Pollers as a replica would run them; every one still running is stopped at the end."""
    blobs = FilesystemBlobStore(tmp_path / "blobs")
    made: list[MailboxPoller] = []

    def make(
        mailbox: MailboxConfig,
        *,
        replica: str = "replica-a",
        convert: Convert = build_inbound,
        tuning: PollerTuning = FAST,
    ) -> MailboxPoller:
        deps = PollerDeps(broker, redis, blobs, "email-ingest-test", replica, redis_prefix, convert)
        poller = MailboxPoller(mailbox, deps, tuning)
        made.append(poller)
        return poller

    yield make
    await asyncio.gather(*(p.stop(grace=5.0) for p in made))
