"""All the console's routers, built from one ``ConsoleKit``.

A new page module adds one line here: ``its_router(kit)``. Pages for administrators
call ``kit.administrator(request)``; the rest call ``kit.logged_in(request)``.
"""

from __future__ import annotations

from fastapi import APIRouter
from helpdesk_common.blobstore import BlobStore
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..access import AgentAccess
from ..login_guard import LoginGuard
from ..outbox import OutboxRelay
from ..settings import TicketCoreSettings
from .branding_routes import branding_router
from .branding_view import BrandingView
from .dashboard_routes import dashboard_router
from .inbox_routes import inbox_router
from .kit import ConsoleKit
from .new_ticket_routes import new_ticket_router
from .presence_routes import presence_router
from .session_routes import session_router
from .settings_active_routes import settings_active_router
from .settings_canned_routes import canned_settings_router
from .settings_channel_routes import settings_channel_router
from .settings_notification_routes import notification_settings_router
from .settings_people_routes import settings_people_router
from .settings_routes import settings_router
from .settings_routing_routes import routing_settings_router
from .settings_sla_routes import sla_settings_router
from .settings_trigger_routes import trigger_settings_router
from .ticket_links_routes import ticket_links_router
from .ticket_routes import ticket_router


def console_routers(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    access: AgentAccess,
    guard: LoginGuard,
    blobs: BlobStore,
    redis: Redis,
) -> list[APIRouter]:
    kit = ConsoleKit(settings, sessions, access, relay, blobs, BrandingView(sessions))
    return [
        session_router(kit, guard),
        inbox_router(kit),
        new_ticket_router(kit),  # before ticket_router: /tickets/new is not a ticket id
        ticket_links_router(kit),  # the ticket page's links and merge
        ticket_router(kit),
        dashboard_router(kit),
        branding_router(kit),
        presence_router(kit, redis),
        # settings: routing, SLA and calendars, triggers, notification templates, canned
        routing_settings_router(kit),
        sla_settings_router(kit),
        trigger_settings_router(kit),
        notification_settings_router(kit),
        canned_settings_router(kit),
        settings_router(kit),
        settings_active_router(kit),  # statuses, types, priorities on / off
        settings_people_router(kit),
        settings_channel_router(kit),
    ]
