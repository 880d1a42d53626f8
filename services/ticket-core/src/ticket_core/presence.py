"""Who has a ticket open right now, in Redis (shared by every ticket-core replica).

Per ticket, ``helpdesk:presence:<id>`` is a sorted set (agent id -> last heartbeat, epoch
seconds) and ``helpdesk:presence:<id>:since`` a hash (agent id -> when they opened it).
A heartbeat drops viewers silent for longer than the TTL, records the agent, and keeps
``since`` while the agent stays (a heartbeat after a gap longer than the TTL starts a new
visit). Both keys expire a TTL after the last heartbeat, so nothing lingers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

_PREFIX = "helpdesk:presence:"

_HEARTBEAT = """
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
local fresh = redis.call('ZSCORE', KEYS[1], ARGV[3]) == false
if fresh then redis.call('HSET', KEYS[2], ARGV[3], ARGV[1]) end
redis.call('ZADD', KEYS[1], now, ARGV[3])
local ms = math.ceil(ttl * 1000)
redis.call('PEXPIRE', KEYS[1], ms)
redis.call('PEXPIRE', KEYS[2], ms)
local since = redis.call('HGET', KEYS[2], ARGV[3])
if fresh then return {1, since} end
return {0, since}
"""


@dataclass(frozen=True)
class Viewer:
    agent_id: int
    since: float
    seen: float


def _keys(ticket_id: int) -> tuple[str, str]:
    return f"{_PREFIX}{ticket_id}", f"{_PREFIX}{ticket_id}:since"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Presence:
    def __init__(self, redis: Redis, ttl_seconds: float) -> None:
        self._redis = redis
        self.ttl = ttl_seconds

    async def heartbeat(self, ticket_id: int, agent_id: int, now: float) -> tuple[bool, float]:
        """(True when this opens a visit, the visit's start)."""
        answer: list[Any] = await self._redis.eval(
            _HEARTBEAT, 2, *_keys(ticket_id), repr(now), repr(self.ttl), str(agent_id)
        )
        fresh, since = answer
        return bool(int(fresh)), float(_text(since))

    async def leave(self, ticket_id: int, agent_id: int) -> None:
        live, since = _keys(ticket_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(live, str(agent_id))
            pipe.hdel(since, str(agent_id))
            await pipe.execute()

    async def viewers(self, ticket_id: int, now: float) -> list[Viewer]:
        """Who has the ticket open, earliest first."""
        live, since_key = _keys(ticket_id)
        rows: list[Any] = await self._redis.zrangebyscore(
            live, now - self.ttl, "+inf", withscores=True
        )
        if not rows:
            return []
        ids = [_text(member) for member, _ in rows]
        starts: list[Any] = await self._redis.hmget(since_key, ids)
        viewers = []
        for agent, (_, seen), start in zip(ids, rows, starts, strict=True):
            since = float(_text(start)) if start is not None else float(seen)
            viewers.append(Viewer(int(agent), since, float(seen)))
        return sorted(viewers, key=lambda v: (v.since, v.agent_id))
