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
import ssl
import uuid

from helpdesk_common import logs

from . import metrics
from .backoff import Backoff
from .checkpoints import Checkpoint, CheckpointStore
from .failed import FailedMails
from .imap_session import ImapAuthError, ImapError, ImapSession
from .lease import Lease, LeaseLost
from .mail_handler import MailHandler
from .mailboxes import MailboxConfig
from .runtime import Convert, PollerDeps, PollerState, PollerTuning, scrub

log = logs.get_logger(__name__)

__all__ = ["Convert", "MailboxPoller", "PollerDeps", "PollerState", "PollerTuning"]


class MailboxPoller:
    def __init__(self, mailbox: MailboxConfig, deps: PollerDeps, tuning: PollerTuning) -> None:
        self.mailbox = mailbox
        self.deps = deps
        self.tuning = tuning
        self.lease = Lease(
            deps.redis,
            f"{deps.redis_prefix}:lease:{mailbox.name}",
            f"{deps.replica_id}/{uuid.uuid4().hex[:8]}",
            tuning.lease_ttl_seconds,
        )
        self.checkpoints = CheckpointStore(deps.redis, deps.redis_prefix)
        self.failures = FailedMails(deps.redis, deps.redis_prefix, tuning.failed_list_max)
        self.state = PollerState()
        self.log = log.bind(mailbox=mailbox.name, account=mailbox.account)
        self.handler = MailHandler(mailbox, deps, self.failures, self.state, self.log)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._release_on_exit = True

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self.run(), name=f"email-poller:{self.mailbox.name}")
        self._task.add_done_callback(self._ended)
        return self._task

    def _ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.log.error("poller_crashed", error=repr(task.exception())[:300])

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
            except ImapAuthError as exc:  # a configuration problem: error, not warning
                self._session_failed("imap_auth_failed", exc, error=True)
            except ssl.SSLCertVerificationError as exc:
                self._session_failed("imap_tls_certificate_refused", exc, error=True)
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
        self.state.last_error = scrub(exc, self.mailbox.password.get_secret_value())
        metrics.SESSION_FAILURES.labels(self.mailbox.name).inc()
        emit = self.log.error if error else self.log.warning
        emit(event, error=self.state.last_error, failures=self.state.connect_failures)

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
                await self.handler.handle(session, uid, uidvalidity)
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
            if woke == "warning":  # the folder is fine: don't spin if the server keeps warning
                self.log.warning("imap_server_warning_during_idle")
                await self._sleep(1.0)

    def _filter_keyword(self, session: ImapSession) -> str | None:
        """In flag mode, searches skip mail carrying our keyword (already published)."""
        assert session.folder is not None
        if self.mailbox.move_to is not None:
            return None
        if not session.folder.keywords_allowed:
            self.log.warning("imap_keywords_not_permanent", keyword=self.mailbox.processed_keyword)
            return None
        return self.mailbox.processed_keyword
