"""The logged-in agent of a console request: the ``helpdesk_session`` cookie only.

The console never trusts a request without a session (not even when
``TICKET_CORE_ALLOW_ANONYMOUS`` is set): no live session means the login page.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from helpdesk_common.agent_sessions import COOKIE_NAME
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..access import AgentAccess, Principal
from ..models_org import AgentRole, agents
from .security import csrf_token


class NotLoggedIn(Exception):
    """No live session: the console answers with the login page."""


@dataclass(frozen=True)
class ConsoleAgent:
    id: int
    name: str
    email: str
    role: AgentRole
    csrf: str
    principal: Principal

    @property
    def sees_every_ticket(self) -> bool:
        return self.principal.sees_every_ticket


async def console_agent(
    request: Request, access: AgentAccess, sessions: async_sessionmaker[AsyncSession]
) -> ConsoleAgent:
    token = request.cookies.get(COOKIE_NAME)
    if not token:
        raise NotLoggedIn
    session = await access.session_of(token)  # 503 when Redis is down
    if session is None:
        raise NotLoggedIn
    async with sessions() as db:
        row = (
            await db.execute(
                select(agents.c.name, agents.c.email, agents.c.role, agents.c.active).where(
                    agents.c.id == session.agent_id
                )
            )
        ).first()
    if row is None or not row.active:
        await access.store.revoke_agent(session.agent_id)
        raise NotLoggedIn
    role = AgentRole(row.role)
    principal = Principal(False, role, session.agent_id, session, via_cookie=True)
    request.state.principal = principal
    return ConsoleAgent(
        id=session.agent_id,
        name=str(row.name),
        email=str(row.email),
        role=role,
        csrf=csrf_token(token),
        principal=principal,
    )
