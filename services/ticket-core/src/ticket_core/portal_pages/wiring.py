"""All the portal pages' routers, built from one ``PortalKit``; ``app.py`` includes them
with one line. The session store and the lockout are the portal API's (same Redis
prefixes, ``portal_auth.portal_store`` and the ``portal:`` login guard), so a contact
locked out by the API is locked out here too."""

from __future__ import annotations

from fastapi import APIRouter
from helpdesk_common.blobstore import BlobStore
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..desk_config import DeskConfig
from ..login_guard import LoginGuard
from ..outbox import OutboxRelay
from ..portal_auth import portal_store
from ..settings import TicketCoreSettings
from .kit import PortalKit
from .session_routes import session_router
from .ticket_routes import ticket_router


def portal_page_routers(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    blobs: BlobStore,
    redis: Redis,
    config: DeskConfig | None = None,
) -> list[APIRouter]:
    config = config or DeskConfig()
    guard = LoginGuard(
        redis,
        max_failures=config.portal_login_max_failures,
        lockout_seconds=int(config.portal_login_lockout_minutes * 60),
        key_prefix="portal:",
    )
    kit = PortalKit(settings, config, sessions, relay, blobs, portal_store(redis, config), guard)
    return [session_router(kit), ticket_router(kit)]
