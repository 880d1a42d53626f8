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
from .new_ticket_routes import new_ticket_router
from .session_routes import session_router
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
        new_ticket_router(kit),  # before ticket_router: /tickets/new is not a ticket id
        ticket_router(kit),
    ]
