"""email-ingest wiring: one IMAP poller task per configured mailbox.

The pollers start once the broker is connected and are stopped before the broker stops
(each finishes the mail in flight, logs out and releases its lease), so a mail being
published at shutdown is either acked and marked processed, or left for the next run.
Readiness is the broker and Redis; IMAP trouble is retried inside each poller and shown
at ``GET /api/v1/mailboxes``.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, FastAPI
from helpdesk_common import logs
from helpdesk_common.blobstore import make_blob_store
from helpdesk_common.broker import make_broker
from helpdesk_common.health import Readiness, redis_check
from helpdesk_common.service import build_app
from redis.asyncio import Redis

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


def status_router(pollers: list[MailboxPoller]) -> APIRouter:
    router = APIRouter(tags=["mailboxes"])

    @router.get("/api/v1/mailboxes")
    async def mailboxes() -> list[dict[str, Any]]:
        return [{**p.mailbox.describe(), **asdict(p.state)} for p in pollers]

    return router


def create_app(
    settings: EmailIngestSettings | None = None, *, convert: Convert = build_inbound
) -> FastAPI:
    settings = settings or EmailIngestSettings()
    logs.configure(settings.service_name, settings.log_level)
    broker = make_broker(settings)
    redis = Redis.from_url(settings.redis_url)
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
    pollers = [MailboxPoller(m, deps, tuning) for m in settings.mailboxes]

    async def start_pollers() -> None:
        for poller in pollers:
            poller.start()
        log.info("mailboxes_started", mailboxes=[p.mailbox.name for p in pollers])

    async def stop_pollers() -> None:
        await asyncio.gather(*(p.stop() for p in pollers))

    readiness = Readiness()
    readiness.add("redis", redis_check(redis))
    return build_app(
        settings,
        broker,
        readiness=readiness,
        on_startup=[start_pollers],
        on_stopping=[stop_pollers],  # their last publish needs the broker
        on_shutdown=[redis.aclose],
        routers=[status_router(pollers)],
    )
