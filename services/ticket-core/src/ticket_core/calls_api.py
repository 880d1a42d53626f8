"""``GET /internal/v1/calls/caller?number=&digits=``: the caller card telephony pushes to
the agent whose extension rings (contact, company, open tickets). Internal bearer token
(``TICKET_CORE_INTERNAL_TOKEN``) like the channel account lookups."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from helpdesk_common.phone_numbers import DEFAULT_MATCH_DIGITS
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .call_contacts import caller_card
from .channel_accounts_api import ChannelAccountSettings


def calls_internal_router(sessions: async_sessionmaker[AsyncSession]) -> APIRouter:
    own = ChannelAccountSettings()

    async def service(authorization: Annotated[str | None, Header()] = None) -> None:
        if not own.internal_token:
            raise HTTPException(503, "TICKET_CORE_INTERNAL_TOKEN is not set")
        expected = f"Bearer {own.internal_token}"
        if authorization is None or not secrets.compare_digest(authorization, expected):
            raise HTTPException(status_code=401, detail="missing or wrong internal token")

    router = APIRouter(
        prefix="/internal/v1/calls", tags=["internal"], dependencies=[Depends(service)]
    )

    @router.get("/caller")
    async def caller(
        number: Annotated[str, Query(min_length=1, max_length=64)],
        digits: Annotated[int, Query(ge=4, le=15)] = DEFAULT_MATCH_DIGITS,
    ) -> dict[str, Any]:
        async with sessions() as session:
            return await caller_card(session, number, digits)

    return router
