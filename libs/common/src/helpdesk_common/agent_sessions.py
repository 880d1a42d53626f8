"""Agent login sessions in Redis, shared by ticket-core (which creates them at login) and
the gateway (which checks them for WebSocket push).

A session token is 32 random bytes (URL-safe base64), given to the agent once; only its
SHA-256 is stored: ``helpdesk:session:<sha256 hex>`` is a hash (agent id, role, created
at, absolute expiry) whose Redis expiry slides forward on every use (idle timeout); past
its absolute expiry (login + maximum age) it is refused even when used all the time.
Readers need no configuration: what they check is in the hash. Every agent has a set of
its sessions' hashes (``helpdesk:session:agent:<id>``) so that deactivating an agent, or
an administrator setting their password, ends all of them at once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

KEY_PREFIX = "helpdesk:session:"
COOKIE_NAME = "helpdesk_session"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _session_key(digest: str, prefix: str = KEY_PREFIX) -> str:
    return f"{prefix}{digest}"


def _agent_key(agent_id: int, prefix: str = KEY_PREFIX) -> str:
    return f"{prefix}agent:{agent_id}"


@dataclass(frozen=True)
class AgentSession:
    token_hash: str
    agent_id: int
    role: str
    created_at: float
    expires_at: float

    def expired(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) >= self.expires_at


class AgentSessions:
    """create, lookup (which touches), revoke; ``idle_seconds`` is the sliding expiry.

    ``key_prefix`` keeps another kind of session apart (the customer portal's contact
    sessions use ``helpdesk:portal-session:``; ``agent_id`` is then the contact's id and
    ``role`` the access level): a token of one kind is unknown to a store of the other."""

    def __init__(
        self,
        redis: Redis,
        *,
        idle_seconds: float = 8 * 3600,
        max_age_seconds: float = 7 * 86400,
        key_prefix: str = KEY_PREFIX,
    ) -> None:
        self._redis = redis
        self.idle_seconds = max(1, int(idle_seconds))
        self.max_age_seconds = max_age_seconds
        self._prefix = key_prefix

    @property
    def redis(self) -> Redis:
        """The Redis client (others in the same process reuse its pool)."""
        return self._redis

    def _session_key(self, digest: str) -> str:
        return _session_key(digest, self._prefix)

    def _agent_key(self, agent_id: int) -> str:
        return _agent_key(agent_id, self._prefix)

    async def create(self, agent_id: int, role: str) -> tuple[str, AgentSession]:
        """A new session; returns the token (never stored) and the session."""
        token = secrets.token_urlsafe(32)
        now = time.time()
        session = AgentSession(token_hash(token), agent_id, role, now, now + self.max_age_seconds)
        agent_key = self._agent_key(agent_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self._session_key(session.token_hash),
                mapping={
                    "agent_id": str(agent_id),
                    "role": role,
                    "created_at": repr(session.created_at),
                    "expires_at": repr(session.expires_at),
                },
            )
            pipe.expire(self._session_key(session.token_hash), self.idle_seconds)
            pipe.sadd(agent_key, session.token_hash)
            pipe.expire(agent_key, int(self.max_age_seconds) + self.idle_seconds)
            await pipe.execute()
        return token, session

    async def lookup(self, token: str, *, touch: bool = True) -> AgentSession | None:
        """The live session of the token (its expiry pushed forward), or None."""
        if not token or len(token) > 256:
            return None
        digest = token_hash(token)
        key = self._session_key(digest)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(key)
            if touch:
                pipe.expire(key, self.idle_seconds)  # a no-op on a missing key
            found: dict[Any, Any] = (await pipe.execute())[0]
        session = _parse(digest, found)
        if session is None:
            return None
        if session.expired():
            await self.revoke_hash(session.agent_id, digest)
            return None
        return session

    async def touch(self, token: str) -> bool:
        """Push the expiry forward without reading; False when the session is gone."""
        key = self._session_key(token_hash(token))
        return bool(await self._redis.expire(key, self.idle_seconds))

    async def alive(self, session: AgentSession) -> bool:
        """Whether the session still exists (not revoked, not expired), without touching it."""
        if session.expired():
            return False
        return bool(await self._redis.exists(self._session_key(session.token_hash)))

    async def revoke(self, token: str) -> None:
        digest = token_hash(token)
        found = await self._redis.hgetall(self._session_key(digest))
        session = _parse(digest, found)
        await self.revoke_hash(session.agent_id if session else None, digest)

    async def revoke_hash(self, agent_id: int | None, digest: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._session_key(digest))
            if agent_id is not None:
                pipe.srem(self._agent_key(agent_id), digest)
            await pipe.execute()

    async def revoke_agent(self, agent_id: int, *, keep: str | None = None) -> int:
        """End every session of the agent (but the one whose token hash is ``keep``)."""
        agent_key = self._agent_key(agent_id)
        digests = [_text(d) for d in await self._redis.smembers(agent_key)]
        doomed = [d for d in digests if d != keep]
        if not doomed:
            return 0
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(*(self._session_key(d) for d in doomed))
            pipe.srem(agent_key, *doomed)
            results = await pipe.execute()
        return int(results[0])

    async def set_role(self, agent_id: int, role: str) -> None:
        """Record a role change on the agent's live sessions (the gateway reads it)."""
        digests = [_text(d) for d in await self._redis.smembers(self._agent_key(agent_id))]
        for digest in digests:
            # Only a live session: a plain HSET would revive an expired one without expiry.
            await self._redis.eval(_SET_ROLE_IF_LIVE, 1, self._session_key(digest), role)


_SET_ROLE_IF_LIVE = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'role', ARGV[1]) end
return 0
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _parse(digest: str, found: dict[Any, Any]) -> AgentSession | None:
    if not found:
        return None
    fields = {_text(k): _text(v) for k, v in found.items()}
    try:
        return AgentSession(
            digest,
            int(fields["agent_id"]),
            fields["role"],
            float(fields["created_at"]),
            float(fields["expires_at"]),
        )
    except (KeyError, ValueError):
        return None
