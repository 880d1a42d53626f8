"""ticket-core wiring: database, broker subscription, outbox relay, status timers, REST API."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from fastapi import FastAPI
from helpdesk_common import logs
from helpdesk_common.broker import make_broker
from helpdesk_common.consuming import subscribe_batches
from helpdesk_common.health import Readiness
from helpdesk_common.service import build_app
from helpdesk_common.topics import DELIVERY_EVENTS, INBOUND_CALLS, INBOUND_MESSAGES
from sqlalchemy import text

from .agents_api import agents_router
from .api import api_router
from .calls import CallEventsHandler
from .calls_api import calls_internal_router
from .catalog_api import catalog_router
from .channel_accounts_api import channel_accounts_router
from .db import make_engine, make_sessionmaker
from .edits import EditAwareInboundHandler
from .handlers import DeliveryEventsHandler, InboundMessagesHandler, is_transient
from .notifications_api import notifications_router
from .org_api import org_router
from .outbox import OutboxRelay
from .settings import TicketCoreSettings
from .sms_api import sms_router
from .timers import TimerLoop
from .workflow_api import workflow_router


def create_app(settings: TicketCoreSettings | None = None) -> FastAPI:
    settings = settings or TicketCoreSettings()
    logs.configure(settings.service_name, settings.log_level)
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    broker = make_broker(settings)
    relay = OutboxRelay(sessions, broker, settings.service_name)
    subscribe_batches(
        broker,
        INBOUND_MESSAGES,
        group_id=settings.consumer_group,
        handler=EditAwareInboundHandler(
            InboundMessagesHandler(sessions, relay, timedelta(days=settings.reopen_window_days)),
            sessions,
            relay,
        ),
        settings=settings,
        is_transient=is_transient,
    )

    subscribe_batches(
        broker,
        DELIVERY_EVENTS,
        group_id=f"{settings.consumer_group}.delivery",
        handler=DeliveryEventsHandler(sessions),
        settings=settings,
        is_transient=is_transient,
    )
    subscribe_batches(
        broker,
        INBOUND_CALLS,
        group_id=f"{settings.consumer_group}.calls",
        handler=CallEventsHandler(sessions, relay),
        settings=settings,
        is_transient=is_transient,
    )
    readiness = Readiness()

    async def database_ready() -> bool:
        async with engine.connect() as conn:
            return bool(await conn.scalar(text("SELECT 1")) == 1)

    readiness.add("database", database_ready)
    timers = TimerLoop(
        sessions,
        relay.notify,
        interval=settings.timer_poll_seconds,
        auto_close_after=timedelta(seconds=settings.auto_close_after_seconds),
        batch=settings.timer_batch_size,
    )
    background: list[asyncio.Task[None]] = []

    async def start_background() -> None:
        background.append(asyncio.create_task(relay.run(settings.outbox_sweep_interval_seconds)))
        background.append(asyncio.create_task(timers.run()))

    async def stop_background_and_engine() -> None:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await engine.dispose()

    return build_app(
        settings,
        broker,
        readiness=readiness,
        on_startup=[start_background],
        on_shutdown=[stop_background_and_engine],
        routers=[
            api_router(settings, sessions, relay),
            workflow_router(settings, sessions, relay),
            agents_router(settings, sessions),
            org_router(settings, sessions),
            catalog_router(settings, sessions),
            channel_accounts_router(settings, sessions),
            sms_router(settings, sessions),
            calls_internal_router(sessions),
            notifications_router(settings, sessions),
        ],
    )
