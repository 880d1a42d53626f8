"""``GET /internal/v1/tickets/audience?ids=1,2``: the agents each ticket's pushes go to
(``ticket_visibility.audiences``), for the notifier. Internal bearer token
(``TICKET_CORE_INTERNAL_TOKEN``) like the other internal lookups."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from helpdesk_common.agent_push import AUDIENCE_PATH
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .channel_accounts_api import ChannelAccountSettings
from .ticket_visibility import audiences


class AudienceOut(BaseModel):
    tickets: dict[str, list[int]]


def audience_router(sessions: async_sessionmaker[AsyncSession]) -> APIRouter:
    own = ChannelAccountSettings()

    async def service(authorization: Annotated[str | None, Header()] = None) -> None:
        if not own.internal_token:
            raise HTTPException(503, "TICKET_CORE_INTERNAL_TOKEN is not set")
        expected = f"Bearer {own.internal_token}"
        if authorization is None or not secrets.compare_digest(authorization, expected):
            raise HTTPException(status_code=401, detail="missing or wrong internal token")

    router = APIRouter(tags=["internal"], dependencies=[Depends(service)])

    @router.get(AUDIENCE_PATH, response_model=AudienceOut)
    async def audience(
        ids: Annotated[str, Query(max_length=20_000, description="Ticket ids, comma-separated.")],
    ) -> AudienceOut:
        try:
            wanted = [int(part) for part in ids.split(",") if part.strip()]
        except ValueError as exc:
            raise HTTPException(422, "ids: comma-separated integers") from exc
        if len(wanted) > 1000:
            raise HTTPException(422, "at most 1000 ids")
        async with sessions() as session:
            found = await audiences(session, wanted)
        return AudienceOut(tickets={str(k): v for k, v in found.items()})

    return router
