"""All the console's routers, built from one ``ConsoleKit``.

A new page module adds one line here: ``its_router(kit)``. Pages for administrators
call ``kit.administrator(request)``; the rest call ``kit.logged_in(request)``.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..access import AgentAccess
from ..login_guard import LoginGuard
from ..outbox import OutboxRelay
from ..settings import TicketCoreSettings
from .inbox_routes import inbox_router
from .kit import ConsoleKit
from .session_routes import session_router
from .settings_canned_routes import canned_settings_router
from .settings_notification_routes import notification_settings_router
from .settings_routing_routes import routing_settings_router
from .settings_sla_routes import sla_settings_router
from .settings_trigger_routes import trigger_settings_router
from .ticket_routes import ticket_router


def console_routers(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    access: AgentAccess,
    guard: LoginGuard,
) -> list[APIRouter]:
    kit = ConsoleKit(settings, sessions, access, relay)
    return [
        session_router(kit, guard),
        inbox_router(kit),
        ticket_router(kit),
        *settings_rules_routers(kit),
    ]


def settings_rules_routers(kit: ConsoleKit) -> list[APIRouter]:
    """Settings part B: routing, SLA and calendars, triggers, notification templates,
    canned responses (``settings_rules_menu.py`` lists them)."""
    return [
        routing_settings_router(kit),
        sla_settings_router(kit),
        trigger_settings_router(kit),
        notification_settings_router(kit),
        canned_settings_router(kit),
    ]
