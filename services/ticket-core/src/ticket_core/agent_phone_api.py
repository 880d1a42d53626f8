"""Internal lookups of agents' phone extensions, for telephony (``docs/telephony.md``):

- ``GET /internal/v1/agents/phone?extension=101``: the active agent whose profile carries
  that extension (a ringing call on it is pushed to them), or 404;
- ``GET /internal/v1/agents/{agent_id}/phone``: an agent's extension and whether they are
  active (click-to-call rings that extension first), or 404.

Internal bearer token (``TICKET_CORE_INTERNAL_TOKEN``) like the other internal lookups.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from helpdesk_common.agent_phones import AGENT_PHONE_OF_PATH, AGENT_PHONE_PATH, AgentPhone
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .channel_accounts_api import ChannelAccountSettings
from .models_org import agents

_COLUMNS = (agents.c.id, agents.c.name, agents.c.active, agents.c.phone_extension)


def agent_phone_router(sessions: async_sessionmaker[AsyncSession]) -> APIRouter:
    own = ChannelAccountSettings()

    async def service(authorization: Annotated[str | None, Header()] = None) -> None:
        if not own.internal_token:
            raise HTTPException(503, "TICKET_CORE_INTERNAL_TOKEN is not set")
        expected = f"Bearer {own.internal_token}"
        if authorization is None or not secrets.compare_digest(authorization, expected):
            raise HTTPException(status_code=401, detail="missing or wrong internal token")

    router = APIRouter(tags=["internal"], dependencies=[Depends(service)])

    @router.get(AGENT_PHONE_PATH, response_model=AgentPhone)
    async def by_extension(
        extension: Annotated[str, Query(min_length=1, max_length=32)],
    ) -> AgentPhone:
        async with sessions() as session:
            row = (
                await session.execute(
                    select(*_COLUMNS).where(
                        agents.c.phone_extension == extension, agents.c.active.is_(True)
                    )
                )
            ).first()
        if row is None:
            raise HTTPException(404, f"no active agent has extension {extension!r}")
        return AgentPhone(agent_id=row.id, name=row.name, active=row.active, extension=extension)

    @router.get(AGENT_PHONE_OF_PATH, response_model=AgentPhone)
    async def of_agent(agent_id: int) -> AgentPhone:
        async with sessions() as session:
            row = (await session.execute(select(*_COLUMNS).where(agents.c.id == agent_id))).first()
        if row is None:
            raise HTTPException(404, f"agent {agent_id} not found")
        return AgentPhone(
            agent_id=row.id, name=row.name, active=row.active, extension=row.phone_extension
        )

    return router
