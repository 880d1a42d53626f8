"""email-ingest wiring: one IMAP poller task per mailbox.

Mailboxes come from ``EMAIL_INGEST_MAILBOXES`` and, when ``EMAIL_INGEST_TICKET_CORE_URL``
and ``EMAIL_INGEST_INTERNAL_TOKEN`` are set, from ticket-core's email channel accounts,
re-read every ``EMAIL_INGEST_MAILBOX_REFRESH_SECONDS`` (see ``mailbox_supervisor.py``).
The pollers start once the broker is connected and are stopped before the broker stops
(each finishes the mail in flight, logs out and releases its lease), so a mail being
published at shutdown is either acked and marked processed, or left for the next run.
Readiness is the broker and Redis; IMAP trouble is retried inside each poller and shown
at ``GET /api/v1/mailboxes``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, FastAPI
from helpdesk_common import logs, redis_client
from helpdesk_common.blobstore import make_blob_store
from helpdesk_common.broker import make_broker
from helpdesk_common.channel_accounts import ChannelAccountDirectory
from helpdesk_common.health import Readiness, redis_check
from helpdesk_common.service import build_app

from .mailbox_source import AccountMailboxes
from .mailbox_supervisor import MailboxSupervisor
from .mailboxes import MailboxConfig
from .pipeline import build_inbound
from .poller import Convert, MailboxPoller, PollerDeps, PollerTuning
from .settings import EmailIngestSettings

log = logs.get_logger(__name__)


def tuning_from(settings: EmailIngestSettings) -> PollerTuning:
    return PollerTuning(
        lease_ttl_seconds=settings.lease_ttl_seconds,
        imap_timeout_seconds=settings.imap_timeout_seconds,
        backoff_initial_seconds=settings.backoff_initial_seconds,
        backoff_max_seconds=settings.backoff_max_seconds,
        stop_grace_seconds=settings.graceful_timeout_seconds,
        failed_list_max=settings.failed_list_max,
    )


def status_router(supervisor: MailboxSupervisor) -> APIRouter:
    router = APIRouter(tags=["mailboxes"])

    @router.get("/api/v1/mailboxes")
    async def mailboxes() -> list[dict[str, Any]]:
        return [
            {**r.poller.mailbox.describe(), "origin": r.origin, **asdict(r.poller.state)}
            for r in supervisor.pollers()
        ]

    return router


def create_app(
    settings: EmailIngestSettings | None = None, *, convert: Convert = build_inbound
) -> FastAPI:
    settings = settings or EmailIngestSettings()
    logs.configure(settings.service_name, settings.log_level)
    broker = make_broker(settings)
    redis = redis_client.connect(settings.redis_url)
    deps = PollerDeps(
        broker=broker,
        redis=redis,
        blobs=make_blob_store(settings),
        producer=settings.service_name,
        replica_id=settings.replica_id,
        redis_prefix=settings.redis_prefix,
        convert=convert,
    )
    tuning = tuning_from(settings)

    def make_poller(mailbox: MailboxConfig) -> MailboxPoller:
        return MailboxPoller(mailbox, deps, tuning)

    on_shutdown: list[Callable[[], Awaitable[None]]] = [redis.aclose]
    source: AccountMailboxes | None = None
    if settings.accounts_configured:
        assert settings.ticket_core_url is not None
        directory = ChannelAccountDirectory(settings.ticket_core_url, settings.internal_token)
        source = AccountMailboxes(directory)
        on_shutdown.append(directory.aclose)
        log.info(
            "mailbox_accounts_enabled",
            ticket_core_url=settings.ticket_core_url,
            refresh_seconds=settings.mailbox_refresh_seconds,
        )
    supervisor = MailboxSupervisor(
        settings.mailboxes, make_poller, source, settings.mailbox_refresh_seconds
    )

    readiness = Readiness()
    readiness.add("redis", redis_check(redis))
    return build_app(
        settings,
        broker,
        readiness=readiness,
        on_startup=[supervisor.start],
        on_stopping=[supervisor.stop],  # their last publish needs the broker
        on_shutdown=on_shutdown,
        routers=[status_router(supervisor)],
    )
