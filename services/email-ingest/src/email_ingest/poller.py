"""The per-mailbox loop: lease -> connect -> catch up -> IDLE (or poll) -> repeat.

For each new UID, in ascending order:

1. ``UID FETCH (BODY.PEEK[])`` the raw source;
2. ``build_inbound`` (the MIME filter chain) turns it into an ``InboundMessage``;
3. publish it to ``inbound.messages.v1`` and wait for the broker's ack;
4. only then mark it processed on the server (keyword + ``\\Seen``, or move to a folder);
5. advance the checkpoint (fenced by the lease).

A crash between any two steps repeats the mail on the next run (at-least-once); the
record's idempotency key (Message-ID, or the raw bytes' sha256) lets ticket-core drop the
duplicate. ``Skip`` (a loop) is marked processed and logged, not published. Any other
conversion error is recorded in ``<prefix>:failed:<mailbox>`` (see ``failed.py``), the mail is
left untouched on the server and the checkpoint moves past it. Transient errors (network,
broker, Redis, blob store I/O) end the session; it is reopened after an exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from faststream.kafka import KafkaBroker
from helpdesk_common import logs
from helpdesk_common.blobstore import BlobStore
from helpdesk_common.broker import publish
from helpdesk_common.records import InboundMessage
from helpdesk_common.topics import INBOUND_MESSAGES

from . import metrics
from .backoff import Backoff
from .checkpoints import Checkpoint, CheckpointStore
from .context import MailboxContext
from .failed import FailedMail, FailedMails
from .imap_session import ImapAuthError, ImapError, ImapSession
from .lease import Lease, LeaseLost
from .mailboxes import MailboxConfig
from .pipeline import Skip, build_inbound

log = logs.get_logger(__name__)

Convert = Callable[[bytes, MailboxContext, BlobStore], Awaitable[InboundMessage]]
# Errors that say nothing about the mail itself: retry it after reconnecting.
TRANSIENT = (OSError, TimeoutError, ConnectionError)


@dataclass(frozen=True)
class PollerTuning:
    lease_ttl_seconds: float = 30.0
    imap_timeout_seconds: float = 30.0
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 120.0
    stop_grace_seconds: float = 15.0
    failed_list_max: int = 10_000


@dataclass(frozen=True)
class PollerDeps:
    broker: KafkaBroker
    redis: Any
    blobs: BlobStore
    producer: str
    replica_id: str
    redis_prefix: str = "email-ingest"
    convert: Convert = build_inbound


@dataclass
class PollerState:
    """What the poller is doing, for status pages and tests."""

    holding_lease: bool = False
    connected: bool = False
    waiting: bool = False
    sessions: int = 0
    connect_failures: int = 0
    """Consecutive failed sessions (reset once a session gets as far as searching)."""
    last_error: str | None = None
    published: int = 0
    skipped: int = 0
    failed: int = 0


class MailboxPoller:
    def __init__(self, mailbox: MailboxConfig, deps: PollerDeps, tuning: PollerTuning) -> None:
        self.mailbox = mailbox
        self.deps = deps
        self.tuning = tuning
        self.ctx = mailbox.context()
        self.lease = Lease(
            deps.redis,
            f"{deps.redis_prefix}:lease:{mailbox.name}",
            f"{deps.replica_id}/{id(self):x}",
            tuning.lease_ttl_seconds,
        )
        self.checkpoints = CheckpointStore(deps.redis, deps.redis_prefix)
        self.failures = FailedMails(deps.redis, deps.redis_prefix, tuning.failed_list_max)
        self.state = PollerState()
        self.log = log.bind(mailbox=mailbox.name, account=mailbox.account)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._release_on_exit = True

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self.run(), name=f"email-poller:{self.mailbox.name}")
        return self._task

    async def stop(self, grace: float | None = None) -> None:
        """Finish the mail in flight, log out, release the lease (cancel after ``grace``)."""
        self._stop.set()
        if self._task is None or self._task.done():
            return
        grace = self.tuning.stop_grace_seconds if grace is None else grace
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            self.log.warning("poller_stop_timeout", grace_seconds=grace)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def abandon(self) -> None:
        """Cancel at once and keep the lease, as a crashed replica would (it expires)."""
        self._release_on_exit = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run(self) -> None:
        self.log.info("poller_started", **self.mailbox.describe())
        try:
            while not self._stop.is_set():
                if not await self.lease.acquire(self._stop):
                    break
                self.state.holding_lease = True
                self.log.info("lease_acquired", owner=self.lease.owner)
                try:
                    await self._while_leased()
                finally:
                    self.state.holding_lease = False
        finally:
            if self._release_on_exit:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.lease.release(), 2.0)
            self.log.info("poller_stopped")

    async def _while_leased(self) -> None:
        keeper = asyncio.create_task(self.lease.keep())
        worker = asyncio.create_task(self._connect_loop())
        try:
            done, _ = await asyncio.wait({keeper, worker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (keeper, worker):
                task.cancel()
            await asyncio.gather(keeper, worker, return_exceptions=True)
        if keeper in done or (worker.done() and isinstance(worker.exception(), LeaseLost)):
            self.log.warning("lease_lost_stopping_work")

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    # -- sessions ---------------------------------------------------------------------

    async def _connect_loop(self) -> None:
        backoff = Backoff(self.tuning.backoff_initial_seconds, self.tuning.backoff_max_seconds)
        while not self._stop.is_set():
            session: ImapSession | None = None
            try:
                session = await ImapSession.open(self.mailbox, self.tuning.imap_timeout_seconds)
                self.state.connected = True
                self.state.sessions += 1
                await self._sync(session, backoff)
                return
            except LeaseLost:
                raise
            except ImapAuthError as exc:
                self._session_failed("imap_auth_failed", exc, error=True)
            except Exception as exc:
                self._session_failed("imap_session_failed", exc, error=False)
            finally:
                self.state.connected = self.state.waiting = False
                if session is not None:
                    await session.close()
            delay = backoff.next()
            self.log.info("imap_reconnect_scheduled", delay_seconds=round(delay, 2))
            await self._sleep(delay)

    def _session_failed(self, event: str, exc: BaseException, *, error: bool) -> None:
        self.state.connect_failures += 1
        self.state.last_error = self._safe(exc)
        metrics.SESSION_FAILURES.labels(self.mailbox.name).inc()
        emit = self.log.error if error else self.log.warning
        emit(event, error=self.state.last_error, failures=self.state.connect_failures)

    def _safe(self, exc: BaseException, limit: int = 300) -> str:
        """An error as text, without the password even if a library echoed it."""
        text = f"{type(exc).__name__}: {exc}"
        secret = self.mailbox.password.get_secret_value()
        if secret:
            text = text.replace(secret, "***")
        return text[:limit]

    async def _sync(self, session: ImapSession, backoff: Backoff) -> None:
        assert session.folder is not None
        uidvalidity = session.folder.uidvalidity
        checkpoint = await self.checkpoints.load(self.mailbox.name)
        if checkpoint is None or not checkpoint.matches(self.mailbox.folder, uidvalidity):
            if checkpoint is not None:
                self.log.warning(
                    "uidvalidity_changed_rescanning",
                    old=checkpoint.uidvalidity,
                    new=uidvalidity,
                    folder=self.mailbox.folder,
                )
            checkpoint = Checkpoint(self.mailbox.folder, uidvalidity, 0)
            await self.checkpoints.save(self.mailbox.name, checkpoint, self.lease)
        keyword = self._filter_keyword(session)
        self.log.info(
            "imap_connected",
            uidvalidity=uidvalidity,
            last_uid=checkpoint.last_uid,
            idle=self.mailbox.use_idle and session.idle_supported,
        )
        wait = (
            self.mailbox.idle_timeout_seconds
            if self.mailbox.use_idle and session.idle_supported
            else self.mailbox.poll_interval_seconds
        )
        while not self._stop.is_set():
            uids = await session.search_new(checkpoint.last_uid, keyword)
            backoff.reset()
            self.state.connect_failures = 0
            for uid in uids:
                if self._stop.is_set():
                    return
                await self._process(session, uid, uidvalidity)
                checkpoint = Checkpoint(self.mailbox.folder, uidvalidity, uid)
                await self.checkpoints.save(self.mailbox.name, checkpoint, self.lease)
            if uids:
                continue  # more may have arrived meanwhile: look again before waiting
            self.state.waiting = True
            try:
                woke = await session.wait_for_change(wait, self._stop)
            finally:
                self.state.waiting = False
            if woke in ("timeout", "warning") and await session.folder_replaced():
                raise ImapError(f"folder {self.mailbox.folder} was deleted or recreated")

    def _filter_keyword(self, session: ImapSession) -> str | None:
        """In flag mode, searches skip mail carrying our keyword (already published)."""
        assert session.folder is not None
        if self.mailbox.move_to is not None:
            return None
        if not session.folder.keywords_allowed:
            self.log.warning("imap_keywords_not_permanent", keyword=self.mailbox.processed_keyword)
            return None
        return self.mailbox.processed_keyword

    # -- one mail ---------------------------------------------------------------------

    async def _process(self, session: ImapSession, uid: int, uidvalidity: int) -> None:
        raw = await session.fetch_raw(uid)
        if raw is None:
            self.log.info("mail_vanished", uid=uid)
            return
        try:
            record = await self.deps.convert(raw, self.ctx, self.deps.blobs)
        except Skip as exc:
            await self._mark_processed(session, uid)
            self._count("skipped")
            self.log.info("mail_skipped", uid=uid, reason=str(exc)[:300])
            return
        except TRANSIENT:
            raise
        except Exception as exc:
            await self._record_failure(uid, uidvalidity, raw, exc)
            return
        await publish(self.deps.broker, INBOUND_MESSAGES, record, producer=self.deps.producer)
        await self._mark_processed(session, uid)
        self._count("published")
        self.log.info(
            "mail_published",
            uid=uid,
            idempotency_key=record.idempotency_key,
            correlation_id=record.correlation_id,
        )

    async def _mark_processed(self, session: ImapSession, uid: int) -> None:
        if self.mailbox.move_to is not None:
            await session.move(uid, self.mailbox.move_to)
            return
        assert session.folder is not None
        flags = [self.mailbox.processed_keyword] if session.folder.keywords_allowed else []
        if self.mailbox.mark_seen:
            flags.append("\\Seen")
        if flags:
            await session.add_flags(uid, flags)

    async def _record_failure(self, uid: int, uidvalidity: int, raw: bytes, exc: Exception) -> None:
        sha: str | None = None
        with contextlib.suppress(Exception):
            sha = (await self.deps.blobs.put(raw, "message/rfc822")).sha256
        reason = self._safe(exc, limit=1000)
        await self.failures.record(
            FailedMail(self.mailbox.name, self.mailbox.folder, uidvalidity, uid, reason, sha)
        )
        self._count("failed")
        self.log.error(
            "mail_conversion_failed",
            uid=uid,
            uidvalidity=uidvalidity,
            error_type=type(exc).__name__,
            raw_sha256=sha,
            failed_list=self.failures.key(self.mailbox.name),
        )

    def _count(self, outcome: str) -> None:
        setattr(self.state, outcome, getattr(self.state, outcome) + 1)
        metrics.MAILS.labels(self.mailbox.name, outcome).inc()
