"""Ticket presence as the API and the console use it: a heartbeat (with the
``ticket.presence`` push when it opens a visit), the current viewers with their
"being processed by X since 10:42" labels in the desk timezone, and leaving.

``presence.py`` is the Redis store; this module adds the ticket, agent names, the desk
timezone and the push. Errors: ``PresenceRefused`` (404 unknown ticket, 403 inactive
agent) and ``PresenceUnavailable`` (Redis down, 503).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from helpdesk_common.agent_push import SUPERVISOR_ROLES, encode_push
from helpdesk_common.logs import get_logger
from pydantic import BaseModel, Field
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import repository as repo
from .desk_settings_repo import desk_options
from .models_org import agents
from .presence import Presence, Viewer
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


class PresenceRefused(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


class PresenceUnavailable(Exception):
    """The presence store (Redis) did not answer."""


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class PresenceDesk:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis,
        ttl_seconds: float,
        push_channel: str,
    ) -> None:
        self._sessions = sessions
        self._redis = redis
        self._push_channel = push_channel
        self.store = Presence(redis, ttl_seconds)

    async def _number(self, session: AsyncSession, ticket_id: int) -> int:
        number = await session.scalar(
            select(repo.tickets.c.number).where(repo.tickets.c.id == ticket_id)
        )
        if number is None:
            raise PresenceRefused(404, f"ticket {ticket_id} not found")
        return int(number)

    async def heartbeat(self, ticket_id: int, agent_id: int) -> PresenceOut:
        """The agent has the ticket open; the viewers afterwards (the agent included)."""
        async with self._sessions() as session:
            number = await self._number(session, ticket_id)
            active = await session.scalar(select(agents.c.active).where(agents.c.id == agent_id))
            if not active:
                raise PresenceRefused(403, f"agent {agent_id} does not exist or is deactivated")
        now = time.time()
        try:
            opened, since = await self.store.heartbeat(ticket_id, agent_id, now)
            viewers = await self.store.viewers(ticket_id, now)
        except RedisError as exc:
            raise PresenceUnavailable from exc
        if opened:
            await self._announce(ticket_id, number, agent_id, since)
        return await self._described(ticket_id, viewers)

    async def viewers(self, ticket_id: int) -> PresenceOut:
        async with self._sessions() as session:
            await self._number(session, ticket_id)
        try:
            found = await self.store.viewers(ticket_id, time.time())
        except RedisError as exc:
            raise PresenceUnavailable from exc
        return await self._described(ticket_id, found)

    async def leave(self, ticket_id: int, agent_id: int) -> None:
        try:
            await self.store.leave(ticket_id, agent_id)
        except RedisError as exc:
            raise PresenceUnavailable from exc

    async def _described(self, ticket_id: int, viewers: list[Viewer]) -> PresenceOut:
        async with self._sessions() as session:
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
        return PresenceOut(ticket_id=ticket_id, ttl_seconds=self.store.ttl, viewers=out)

    async def _announce(self, ticket_id: int, number: int, agent_id: int, since: float) -> None:
        async with self._sessions() as session:
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
            await self._redis.publish(self._push_channel, message)
        except RedisError as exc:  # presence is recorded; the push is a courtesy
            log.warning("presence_push_failed", error=type(exc).__name__)
