"""Ticket presence: ``POST /api/v1/tickets/{ticket_id}/presence`` (a heartbeat from an open
ticket page, every ~15 s), ``GET`` (who has it open and since when), ``DELETE`` (the page
was closed). Ticket class: a specialist only on tickets they may see.

When an agent opens a ticket (the first heartbeat of a visit), a ``ticket.presence`` push
(``helpdesk_common.agent_push`` envelope) goes to the ticket's audience and the
supervisor roles on the notifier's Redis channel, so other consoles show "being
processed by X since 10:42" at once.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Response
from helpdesk_common.agent_push import SUPERVISOR_ROLES, encode_push
from helpdesk_common.logs import get_logger
from pydantic import BaseModel, Field
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import repository as repo
from .api_common import ActingAgent, bearer_auth
from .desk_config import DeskConfig
from .desk_settings_repo import desk_options
from .models_org import agents
from .presence import Presence, Viewer
from .settings import TicketCoreSettings
from .ticket_visibility import audiences

log = get_logger(__name__)
PRESENCE_KIND = "ticket.presence"


class ViewerOut(BaseModel):
    agent_id: int
    agent_name: str
    since: datetime
    last_seen: datetime
    label: str = Field(description="e.g. 'being processed by Ann since 10:42' (desk timezone)")


class PresenceOut(BaseModel):
    ticket_id: int
    ttl_seconds: float
    viewers: list[ViewerOut]


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def presence_router(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
    config: DeskConfig,
) -> APIRouter:
    presence = Presence(redis, config.presence_ttl_seconds)
    router = APIRouter(
        prefix="/api/v1/tickets/{ticket_id}/presence",
        tags=["presence"],
        dependencies=[Depends(bearer_auth(settings))],
    )

    async def ticket_number(session: AsyncSession, ticket_id: int) -> int:
        number = await session.scalar(
            select(repo.tickets.c.number).where(repo.tickets.c.id == ticket_id)
        )
        if number is None:
            raise HTTPException(status_code=404, detail=f"ticket {ticket_id} not found")
        return int(number)

    async def described(ticket_id: int, viewers: list[Viewer]) -> PresenceOut:
        async with sessions() as session:
            rows = await session.execute(
                select(agents.c.id, agents.c.name).where(
                    agents.c.id.in_([v.agent_id for v in viewers])
                )
            )
            names: dict[int, str] = {int(i): str(n) for i, n in rows}
            zone = ZoneInfo((await desk_options(session)).timezone)
        out = []
        for viewer in viewers:
            name = names.get(viewer.agent_id, f"agent {viewer.agent_id}")
            since = _at(viewer.since)
            out.append(
                ViewerOut(
                    agent_id=viewer.agent_id,
                    agent_name=name,
                    since=since,
                    last_seen=_at(viewer.seen),
                    label=f"being processed by {name} since {since.astimezone(zone):%H:%M}",
                )
            )
        return PresenceOut(ticket_id=ticket_id, ttl_seconds=presence.ttl, viewers=out)

    @router.post("", response_model=PresenceOut)
    async def heartbeat(ticket_id: int, agent_id: ActingAgent) -> PresenceOut:
        async with sessions() as session:
            number = await ticket_number(session, ticket_id)
            active = await session.scalar(select(agents.c.active).where(agents.c.id == agent_id))
            if not active:
                raise HTTPException(403, f"agent {agent_id} does not exist or is deactivated")
        now = time.time()
        try:
            opened, since = await presence.heartbeat(ticket_id, agent_id, now)
            viewers = await presence.viewers(ticket_id, now)
        except RedisError as exc:
            raise HTTPException(503, "the presence store is unavailable") from exc
        if opened:
            await announce(ticket_id, number, agent_id, since)
        return await described(ticket_id, viewers)

    async def announce(ticket_id: int, number: int, agent_id: int, since: float) -> None:
        async with sessions() as session:
            audience = (await audiences(session, [ticket_id]))[ticket_id]
            name = await session.scalar(select(agents.c.name).where(agents.c.id == agent_id))
        message = encode_push(
            PRESENCE_KIND,
            {
                "ticket_id": ticket_id,
                "ticket_number": number,
                "agent_id": agent_id,
                "agent_name": name,
                "since": _at(since).isoformat(),
                "state": "opened",
            },
            agent_ids=audience,
            roles=SUPERVISOR_ROLES,
        )
        try:
            await redis.publish(config.push_channel, message)
        except RedisError as exc:  # presence is recorded; the push is a courtesy
            log.warning("presence_push_failed", error=type(exc).__name__)

    @router.get("", response_model=PresenceOut)
    async def viewers(ticket_id: int) -> PresenceOut:
        async with sessions() as session:
            await ticket_number(session, ticket_id)
        try:
            found = await presence.viewers(ticket_id, time.time())
        except RedisError as exc:
            raise HTTPException(503, "the presence store is unavailable") from exc
        return await described(ticket_id, found)

    @router.delete("", status_code=204)
    async def leave(ticket_id: int, agent_id: ActingAgent) -> Response:
        try:
            await presence.leave(ticket_id, agent_id)
        except RedisError as exc:
            raise HTTPException(503, "the presence store is unavailable") from exc
        return Response(status_code=204)

    return router
