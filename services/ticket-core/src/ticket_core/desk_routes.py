"""The desk APIs (dashboard, reports, presence, branding and desk settings, customer
portal), each router behind its access class; ``app.py`` includes them in one line."""

from __future__ import annotations

from fastapi import APIRouter
from helpdesk_common.blobstore import BlobStore
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .access import AgentAccess
from .dashboard_api import dashboard_router
from .desk_config import DeskConfig
from .desk_settings_api import desk_settings_routers
from .login_guard import LoginGuard
from .outbox import OutboxRelay
from .portal_access_api import portal_access_router
from .portal_api import portal_router
from .portal_auth import PortalAuth, portal_auth_router, portal_store
from .presence_api import presence_router
from .reports_api import report_router
from .settings import TicketCoreSettings


def desk_routers(
    access: AgentAccess,
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    blobs: BlobStore,
    redis: Redis,
    config: DeskConfig | None = None,
) -> list[APIRouter]:
    config = config or DeskConfig()
    store = portal_store(redis, config)
    portal_auth = PortalAuth(sessions, store)
    guard = LoginGuard(
        redis,
        max_failures=config.portal_login_max_failures,
        lockout_seconds=int(config.portal_login_lockout_minutes * 60),
        key_prefix="portal:",
    )
    branding_admin, branding_public = desk_settings_routers(settings, sessions, blobs)
    tickets, public = access.ticket_router, access.public_router
    return [
        access.protect(dashboard_router(settings, sessions), tickets),
        access.protect(report_router(settings, sessions), tickets),
        access.protect(presence_router(settings, sessions, redis, config), tickets),
        access.protect(branding_admin, access.settings_router),
        access.protect(branding_public, public),
        access.protect(portal_access_router(settings, sessions, store), access.directory_router),
        # The portal: no agent authentication; every route checks the contact's session.
        access.protect(portal_auth_router(settings, sessions, portal_auth, guard), public),
        access.protect(portal_router(settings, sessions, relay, portal_auth, config), public),
    ]
