"""ticket-core wiring: database, broker subscription, outbox relay, status timers, REST API."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from fastapi import FastAPI
from helpdesk_common import logs, redis_client
from helpdesk_common.blobstore import make_blob_store
from helpdesk_common.broker import make_broker
from helpdesk_common.consuming import subscribe_batches
from helpdesk_common.health import Readiness
from helpdesk_common.service import build_app
from helpdesk_common.topics import DELIVERY_EVENTS, INBOUND_CALLS, INBOUND_MESSAGES, TICKET_EVENTS
from sqlalchemy import text

from .access import AgentAccess, session_store
from .agent_phone_api import agent_phone_router
from .agents_api import agents_router
from .api import api_router
from .attachments_api import attachments_router
from .audience_api import audience_router
from .auth_api import auth_router
from .bad_values import install_bad_value_handler
from .calls import CallEventsHandler
from .calls_api import calls_internal_router
from .canned_api import canned_router
from .catalog_api import catalog_router
from .channel_accounts_api import channel_accounts_router
from .collab_api import collab_router
from .console.wiring import console_routers
from .contact_merge_api import contact_merge_router
from .contacts_api import contacts_router
from .db import consumer_engine, make_engine, make_sessionmaker
from .desk_config import DeskConfig
from .desk_routes import desk_routers
from .edits import EditAwareInboundHandler
from .handlers import (
    DeliveryEventsHandler,
    InboundMessagesHandler,
    TriggerEventsHandler,
    is_transient,
)
from .login_guard import LoginGuard
from .macros_api import macros_router
from .notifications_api import notifications_router
from .org_api import company_categories_router, org_router
from .outbox import OutboxRelay
from .outbox_listener import listen_for_outbox, plain_dsn
from .portal_auth import portal_store
from .portal_pages.wiring import portal_page_routers
from .rating_api import rating_routers
from .routing_api import routing_router
from .routing_cache import SNAPSHOTS
from .service_objects_api import service_objects_router
from .settings import TicketCoreSettings
from .sla_api import sla_router
from .sms_api import sms_router
from .ticket_create_api import ticket_create_router
from .ticket_links_api import ticket_links_router
from .ticket_messages_api import ticket_messages_router
from .timers import TimerLoop
from .trigger_executor import executor_settings
from .trigger_time import TimeTriggerLoop
from .triggers_api import triggers_router
from .workflow_api import workflow_router


def create_app(settings: TicketCoreSettings | None = None) -> FastAPI:
    settings = settings or TicketCoreSettings()
    logs.configure(settings.service_name, settings.log_level)
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    consumers_engine = consumer_engine(settings)  # consumers and the relay: no pre-ping
    consumer_sessions = make_sessionmaker(consumers_engine)
    broker = make_broker(settings)
    relay = OutboxRelay(consumer_sessions, broker, settings.service_name)
    blobs = make_blob_store(settings)
    SNAPSHOTS.ttl = settings.routing_cache_seconds
    inbound = EditAwareInboundHandler(
        InboundMessagesHandler(
            consumer_sessions, relay, timedelta(days=settings.reopen_window_days)
        ),
        consumer_sessions,
        relay,
    )
    # Work per process (settings.run_inbound / run_background): by default one process does
    # everything; split, the inbound path has a process (and event loop) to itself.
    if settings.run_inbound:
        # N members of the consumer group in this process (docs/ingest-performance.md): each
        # gets its own partitions, as replicas would, and one's database waits overlap
        # another's Python work.
        for _ in range(settings.inbound_consumers):
            subscribe_batches(
                broker,
                INBOUND_MESSAGES,
                group_id=settings.consumer_group,
                handler=inbound,
                settings=settings,
                is_transient=is_transient,
                fetch_max_wait_ms=settings.inbound_fetch_max_wait_ms,
            )
    if settings.run_background:
        subscribe_batches(
            broker,
            DELIVERY_EVENTS,
            group_id=f"{settings.consumer_group}.delivery",
            handler=DeliveryEventsHandler(consumer_sessions),
            settings=settings,
            is_transient=is_transient,
        )
        subscribe_batches(
            broker,
            INBOUND_CALLS,
            group_id=f"{settings.consumer_group}.calls",
            handler=CallEventsHandler(consumer_sessions, relay),
            settings=settings,
            is_transient=is_transient,
        )
        subscribe_batches(
            broker,
            TICKET_EVENTS,
            group_id=f"{settings.consumer_group}.triggers",
            handler=TriggerEventsHandler(consumer_sessions, relay, executor_settings(settings)),
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
    time_triggers = TimeTriggerLoop(
        sessions,
        relay.notify,
        executor_settings(settings),
        interval=settings.trigger_time_poll_seconds,
        batch=settings.trigger_time_batch_size,
    )
    background: list[asyncio.Task[None]] = []

    async def start_background() -> None:
        if not settings.run_background:
            return
        background.append(asyncio.create_task(relay.run(settings.outbox_sweep_interval_seconds)))
        background.append(
            asyncio.create_task(listen_for_outbox(plain_dsn(settings.database_url), relay.notify))
        )
        background.append(asyncio.create_task(timers.run()))
        background.append(asyncio.create_task(time_triggers.run()))

    async def stop_background_and_engine() -> None:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await engine.dispose()
        await consumers_engine.dispose()

    # Agent auth (docs/agent-auth.md): every router goes behind one router class.
    redis = redis_client.connect(settings.redis_url)
    access = AgentAccess(settings, sessions, session_store(redis, settings))
    guard = LoginGuard(
        redis,
        max_failures=settings.login_max_failures,
        lockout_seconds=int(settings.login_lockout_minutes * 60),
    )
    auth_public, auth_own, auth_admin = auth_router(settings, sessions, access, guard)
    ratings_public, ratings_for_agents = rating_routers(settings, sessions, relay)
    tickets, directory, config = (
        access.ticket_router,
        access.directory_router,
        access.settings_router,
    )

    app = build_app(
        settings,
        broker,
        readiness=readiness,
        on_startup=[start_background],
        on_shutdown=[stop_background_and_engine, redis.aclose],
        routers=[
            access.protect(api_router(settings, sessions, relay, blobs), tickets),
            access.protect(attachments_router(settings, sessions, blobs), tickets),
            access.protect(workflow_router(settings, sessions, relay), tickets),
            access.protect(collab_router(settings, sessions, relay), tickets),
            access.protect(canned_router(settings, sessions), tickets),
            access.protect(ratings_for_agents, tickets),
            access.protect(ratings_public, access.public_router),
            access.protect(macros_router(settings, sessions, relay), tickets),
            access.protect(ticket_links_router(settings, sessions, relay), tickets),
            access.protect(ticket_create_router(settings, sessions, relay), tickets),
            access.protect(ticket_messages_router(settings, sessions), tickets),
            access.protect(agents_router(settings, sessions, access.agent_changed), config),
            access.protect(company_categories_router(settings, sessions), config),
            access.protect(org_router(settings, sessions), directory),
            access.protect(contacts_router(settings, sessions), directory),
            access.protect(
                contact_merge_router(settings, sessions, relay, portal_store(redis, DeskConfig())),
                directory,
            ),
            access.protect(catalog_router(settings, sessions), config),
            access.protect(channel_accounts_router(settings, sessions), config),
            access.protect(sms_router(settings, sessions), config),
            access.protect(triggers_router(settings, sessions), config),
            access.protect(sla_router(settings, sessions), config),
            access.protect(routing_router(settings, sessions, relay), config),
            access.protect(service_objects_router(settings, sessions), config),
            access.protect(auth_public, access.public_router),
            access.protect(auth_own, access.agent_router),
            access.protect(auth_admin, config),
            *desk_routers(access, settings, sessions, relay, blobs, redis),
            calls_internal_router(sessions),
            agent_phone_router(sessions),  # internal: telephony's extension lookups
            audience_router(sessions),
            notifications_router(settings, sessions),  # its own admin/internal checks
            # the agent console's pages check the session cookie and CSRF themselves
            *console_routers(settings, sessions, relay, access, guard, blobs, redis),
            *portal_page_routers(settings, sessions, relay, blobs, redis),  # /portal/ pages
        ],
    )
    app.state.agent_access = access
    install_bad_value_handler(app)  # NUL characters, numbers out of range: 422
    return app
