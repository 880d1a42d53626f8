"""The measured phases of ``bench.email_ingest``: IMAP fetch alone, one poller from IMAP to
the broker, the raw producer with the same records, and arrival-to-published latency.

All run in the benchmark's process and event loop, as one email-ingest replica would:
the poller is ``email_ingest.poller.MailboxPoller`` itself (lease, checkpoint, fetch,
filter chain, blob store, publish with ack, flag), with a FastStream broker built by
``helpdesk_common.broker.make_broker``. "On the topic" is read from the partitions' end
offsets of ``inbound.messages.v1`` (nothing else writes there in the benchmark).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from devstack.dovecot import USER
from email_ingest.context import MailboxContext
from email_ingest.imap_session import ImapSession
from email_ingest.mailboxes import MailboxConfig
from email_ingest.pipeline import build_inbound
from email_ingest.poller import MailboxPoller, PollerDeps, PollerTuning
from helpdesk_common.blobstore import BlobStore, FilesystemBlobStore
from helpdesk_common.broker import PRODUCER_LINGER_MS, make_broker
from helpdesk_common.records import InboundMessage
from helpdesk_common.settings import ServiceSettings
from helpdesk_common.topic_admin import ensure_topics
from helpdesk_common.topics import INBOUND_MESSAGES
from redis.asyncio import Redis

from .imap_server import PASSWORD, Appender

TUNING = PollerTuning(imap_timeout_seconds=120.0, stop_grace_seconds=60.0)
Probe = Callable[[], dict[str, float]]
Raw = tuple[bytes | None, bytes, list[tuple[str, bytes]]]  # key, value, headers


@dataclass
class Env:
    bootstrap: str
    redis_url: str
    imap_port: int
    blob_dir: Path
    appender: Appender
    run: str

    def mailbox(self, name: str, **overrides: Any) -> MailboxConfig:
        fields: dict[str, Any] = {
            "name": name,
            "host": "127.0.0.1",
            "port": self.imap_port,
            "security": "none",
            "login": USER,
            "password": PASSWORD,
            "folder": name,
            "own_addresses": ["support@example.com"],
            "idle_timeout_seconds": 600.0,
            **overrides,
        }
        return MailboxConfig.model_validate(fields)


class Offsets:
    """Records on ``inbound.messages.v1``: the sum of its partitions' end offsets."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
        self.parts = [
            TopicPartition(INBOUND_MESSAGES.name, p) for p in range(INBOUND_MESSAGES.partitions)
        ]

    async def __aenter__(self) -> Offsets:
        await self.consumer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.consumer.stop()

    async def total(self) -> int:
        return sum((await self.consumer.end_offsets(self.parts)).values())


async def imap_fetch(box: MailboxConfig) -> dict[str, Any]:
    """Baseline: connect, SELECT, UID SEARCH, then UID FETCH BODY.PEEK[] of each mail in
    turn (the poller's own client calls), no processing."""
    started = time.perf_counter()
    session = await ImapSession.open(box, TUNING.imap_timeout_seconds)
    size = 0
    try:
        uids = await session.search_new(0, None)
        for uid in uids:
            size += len(await session.fetch_raw(uid) or b"")
    finally:
        await session.close()
    seconds = time.perf_counter() - started
    return {"mails": len(uids), "bytes": size, "seconds": seconds, "rate": len(uids) / seconds}


class Replica:
    """What an email-ingest replica holds: broker, Redis, blob store; pollers on demand.

    The filter chain is timed (``converts``: start and end of each call, which comes
    right after the mail was fetched), to split a mail's time into its parts.
    """

    def __init__(self, env: Env) -> None:
        self.env = env
        self.converts: list[tuple[float, float]] = []
        settings = ServiceSettings(
            service_name="bench-email-ingest", kafka_bootstrap_servers=env.bootstrap
        )
        self.broker = make_broker(settings)
        self.redis = Redis.from_url(env.redis_url)
        self.deps = PollerDeps(
            broker=self.broker,
            redis=self.redis,
            blobs=FilesystemBlobStore(env.blob_dir),
            producer="bench-email-ingest",
            replica_id="bench",
            redis_prefix=f"bench-{env.run}",
            convert=self._convert,
        )

    async def _convert(self, raw: bytes, ctx: MailboxContext, blobs: BlobStore) -> InboundMessage:
        started = time.perf_counter()
        try:
            return await build_inbound(raw, ctx, blobs)
        finally:
            self.converts.append((started, time.perf_counter()))

    async def __aenter__(self) -> Replica:
        await self.broker.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.broker.stop()
        await self.redis.aclose()

    def poller(self, box: MailboxConfig) -> MailboxPoller:
        return MailboxPoller(box, self.deps, TUNING)


async def ingest(
    env: Env, box: MailboxConfig, mails: int, expected: int, cpu: Probe, timeout: float
) -> dict[str, Any]:
    """One poller from start until every record is on the topic (and every mail marked)."""
    async with Replica(env) as replica, Offsets(env.bootstrap) as offsets:
        base = await offsets.total()
        poller = replica.poller(box)
        cpu_before = cpu()
        started = time.perf_counter()
        poller.start()
        first = on_topic = None
        try:
            while True:
                now = time.perf_counter()
                if now - started > timeout:
                    raise TimeoutError(f"{box.name}: {poller.state} after {timeout:.0f}s")
                state = poller.state
                if first is None and state.published:
                    first = now
                if on_topic is None and await offsets.total() - base >= expected:
                    on_topic = time.perf_counter()
                if on_topic and state.published + state.skipped + state.failed >= mails:
                    break
                await asyncio.sleep(0.02)
            marked = time.perf_counter()
            cpu_after = cpu()
        finally:
            await poller.stop()
    assert on_topic is not None
    seconds = on_topic - started
    state = poller.state
    chain = sum(end - begin for begin, end in replica.converts)
    return {
        "mails": mails,
        "published": state.published,
        "skipped": state.skipped,
        "failed": state.failed,
        "seconds_to_all_on_topic": seconds,
        "seconds_to_all_marked": marked - started,
        "seconds_to_first_published": (first or on_topic) - started,
        "rate": mails / seconds,
        "published_rate": state.published / seconds,
        "steady_rate": (mails - 1) / max(1e-9, on_topic - (first or started)),
        "chain_and_blobs_seconds": chain,
        "chain_and_blobs_share": chain / (marked - started),
        "cpu_seconds": {k: cpu_after[k] - cpu_before[k] for k in cpu_before},
    }


async def records_of(bootstrap: str, account: str) -> list[Raw]:
    """The records published for ``account`` (key, value, headers), in partition order."""
    async with Offsets(bootstrap) as offsets:
        ends = await offsets.consumer.end_offsets(offsets.parts)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    found: list[Raw] = []
    marker = f'"channel_account":"{account}"'.encode()
    try:
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        while [p for p, end in ends.items() if await consumer.position(p) < end]:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                for r in batch:
                    if r.value is not None and marker in r.value:
                        found.append((r.key, r.value, list(r.headers)))
    finally:
        await consumer.stop()
    return found


async def produce(bootstrap: str, records: Sequence[Raw], name: str) -> dict[str, Any]:
    """Baseline: the same records with plain aiokafka and the service's producer settings
    (acks=all, ``PRODUCER_LINGER_MS``): one at a time waiting for each ack, as the poller
    does; then all pipelined (the raw broker produce rate)."""
    out: dict[str, Any] = {"records": len(records), "bytes": sum(len(r[1]) for r in records)}
    for mode in ("serial", "pipelined"):
        topic = f"bench.email-produce.{name}.{mode}"
        await ensure_topics(bootstrap, {topic: INBOUND_MESSAGES.partitions})
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            linger_ms=PRODUCER_LINGER_MS,
            max_batch_size=1 << 20,
        )
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"warm-up")  # metadata and connection
            started = time.perf_counter()
            if mode == "pipelined":
                futures = [
                    await producer.send(topic, value, key=key, headers=headers)
                    for key, value, headers in records
                ]
                await asyncio.gather(*futures)
            else:
                for key, value, headers in records:
                    await producer.send_and_wait(topic, value, key=key, headers=headers)
            seconds = time.perf_counter() - started
        finally:
            await producer.stop()
        out[mode] = {
            "seconds": seconds,
            "rate": len(records) / seconds,
            "linger_ms": PRODUCER_LINGER_MS,
        }
    return out


async def idle_latency(env: Env, mails: Sequence[bytes], settle: float = 0.3) -> dict[str, Any]:
    """Mails appended one at a time to a folder a poller waits on in IDLE: from APPEND's
    OK (the server has the mail) to the record on the topic, and to the poller's count."""
    box = env.mailbox("latency")
    env.appender.create(box.folder)
    samples: list[dict[str, float]] = []
    async with Replica(env) as replica, Offsets(env.bootstrap) as offsets:
        poller = replica.poller(box)
        poller.start()
        try:
            for raw in mails:
                deadline = time.monotonic() + 30
                while not (poller.state.waiting and poller.state.holding_lease):
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"the poller is not in IDLE: {poller.state}")
                    await asyncio.sleep(0.01)
                await asyncio.sleep(settle)
                base, published = await offsets.total(), poller.state.published
                started = time.perf_counter()
                await asyncio.to_thread(env.appender.append, box.folder, [raw])
                arrived = time.perf_counter()
                counted = on_topic = None
                while on_topic is None or counted is None:
                    if time.perf_counter() - arrived > 30:
                        raise TimeoutError("a mail appended in IDLE was not published in 30 s")
                    if counted is None and poller.state.published > published:
                        counted = time.perf_counter()
                    if on_topic is None and await offsets.total() > base:
                        on_topic = time.perf_counter()
                    await asyncio.sleep(0.002)
                assert on_topic is not None and counted is not None
                fetched = replica.converts[-1][0]
                samples.append(
                    {
                        "append_seconds": arrived - started,
                        "arrival_to_fetched": fetched - arrived,
                        "fetched_to_on_topic": on_topic - fetched,
                        "arrival_to_on_topic": on_topic - arrived,
                        "arrival_to_acked_and_flagged": counted - arrived,
                    }
                )
        finally:
            await poller.stop()
        idle = box.use_idle
    return {"mails": len(samples), "idle": idle, "samples": samples}
