"""One mail: fetch -> convert -> publish (acked) -> mark processed, or record why not.

``Skip`` (a loop) is marked processed and logged, not published. Any other conversion
error is recorded in the failed-mail list (see ``failed.py``) and the mail is left untouched
on the server. Transient errors (network, broker, Redis, blob store I/O) propagate: the
poller ends the session and the same mail is tried again after reconnecting.
"""

from __future__ import annotations

import contextlib
from typing import Any

from helpdesk_common.broker import publish
from helpdesk_common.topics import INBOUND_MESSAGES

from . import metrics
from .failed import FailedMail, FailedMails
from .imap_session import ImapSession
from .mailboxes import MailboxConfig
from .pipeline import Skip
from .runtime import PollerDeps, PollerState, scrub

# Errors that say nothing about the mail itself: retry it after reconnecting.
TRANSIENT = (OSError, TimeoutError, ConnectionError)


class MailHandler:
    def __init__(
        self,
        mailbox: MailboxConfig,
        deps: PollerDeps,
        failures: FailedMails,
        state: PollerState,
        log: Any,
    ) -> None:
        self.mailbox = mailbox
        self.deps = deps
        self.ctx = mailbox.context()
        self.failures = failures
        self.state = state
        self.log = log

    async def handle(self, session: ImapSession, uid: int, uidvalidity: int) -> None:
        raw = await session.fetch_raw(uid)
        if raw is None:
            self.log.info("mail_vanished", uid=uid)
            return
        try:
            record = await self.deps.convert(raw, self.ctx, self.deps.blobs)
        except Skip as exc:
            await self.mark_processed(session, uid)
            self._count("skipped")
            self.log.info("mail_skipped", uid=uid, reason=str(exc)[:300])
            return
        except TRANSIENT:
            raise
        except Exception as exc:
            await self._record_failure(uid, uidvalidity, raw, exc)
            return
        await publish(self.deps.broker, INBOUND_MESSAGES, record, producer=self.deps.producer)
        await self.mark_processed(session, uid)
        self._count("published")
        self.log.info(
            "mail_published",
            uid=uid,
            idempotency_key=record.idempotency_key,
            correlation_id=record.correlation_id,
        )

    async def mark_processed(self, session: ImapSession, uid: int) -> None:
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
        reason = scrub(exc, self.mailbox.password.get_secret_value(), limit=1000)
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
