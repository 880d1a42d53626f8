"""Ticket presence: ``POST /api/v1/tickets/{ticket_id}/presence`` (a heartbeat from an open
ticket page, every ~15 s), ``GET`` (who has it open and since when), ``DELETE`` (the page
was closed). Ticket class: a specialist only on tickets they may see.

When an agent opens a ticket (the first heartbeat of a visit), a ``ticket.presence`` push
(``helpdesk_common.agent_push`` envelope) goes to the ticket's audience and the
supervisor roles on the notifier's Redis channel, so other consoles show "being
processed by X since 10:42" at once (``presence_desk``, shared with the console).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from fastapi import APIRouter, Depends, HTTPException, Response
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .api_common import ActingAgent, bearer_auth
from .desk_config import DeskConfig
from .presence_desk import (
    PRESENCE_KIND,
    PresenceDesk,
    PresenceOut,
    PresenceRefused,
    PresenceUnavailable,
    ViewerOut,
)
from .settings import TicketCoreSettings

__all__ = ["PRESENCE_KIND", "PresenceOut", "ViewerOut", "presence_router"]
T = TypeVar("T")


async def _http(call: Awaitable[T]) -> T:
    try:
        return await call
    except PresenceRefused as exc:
        raise HTTPException(exc.status_code, exc.detail) from exc
    except PresenceUnavailable as exc:
        raise HTTPException(503, "the presence store is unavailable") from exc


def presence_router(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
    config: DeskConfig,
) -> APIRouter:
    desk = PresenceDesk(sessions, redis, config.presence_ttl_seconds, config.push_channel)
    router = APIRouter(
        prefix="/api/v1/tickets/{ticket_id}/presence",
        tags=["presence"],
        dependencies=[Depends(bearer_auth(settings))],
    )

    @router.post("", response_model=PresenceOut)
    async def heartbeat(ticket_id: int, agent_id: ActingAgent) -> PresenceOut:
        return await _http(desk.heartbeat(ticket_id, agent_id))

    @router.get("", response_model=PresenceOut)
    async def viewers(ticket_id: int) -> PresenceOut:
        return await _http(desk.viewers(ticket_id))

    @router.delete("", status_code=204)
    async def leave(ticket_id: int, agent_id: ActingAgent) -> Response:
        await _http(desk.leave(ticket_id, agent_id))
        return Response(status_code=204)

    return router
