"""Lockout after repeated failed logins: a Redis counter per login name.

Each failure increments ``helpdesk:login-failures:<login>`` (its window is the lockout
time, from the first failure); at ``max_failures`` the login is locked for ``lockout``
(``helpdesk:login-lock:<login>``) and even the right password is refused until then. A
successful login clears the counter. Unknown logins count too, so locking says nothing
about whether an account exists.
"""

from __future__ import annotations

from redis.asyncio import Redis

_FAILURES = "helpdesk:login-failures:"
_LOCK = "helpdesk:login-lock:"


class LoginGuard:
    def __init__(
        self,
        redis: Redis,
        *,
        max_failures: int,
        lockout_seconds: int,
        key_prefix: str = "",
    ) -> None:
        """``key_prefix`` keeps another login space apart (the portal's contacts use
        ``portal:``), so a contact's failures never lock an agent with the same email."""
        self._redis = redis
        self._failures = _FAILURES + key_prefix
        self._lock = _LOCK + key_prefix
        self.max_failures = max_failures
        self.lockout_seconds = max(1, lockout_seconds)

    async def locked_for(self, login: str) -> int:
        """Seconds the login stays locked (0: not locked)."""
        ttl = int(await self._redis.ttl(self._lock + login))
        return max(ttl, 0)

    async def failed(self, login: str) -> bool:
        """Count a failure; True when it locked the login."""
        key = self._failures + login
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.ttl(key)
            count, ttl = (int(v) for v in await pipe.execute())
        if ttl < 0:  # the first failure of a window (EXPIRE NX needs Redis 7)
            await self._redis.expire(key, self.lockout_seconds)
        if count < self.max_failures:
            return False
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._lock + login, "1", ex=self.lockout_seconds)
            pipe.delete(key)
            await pipe.execute()
        return True

    async def succeeded(self, login: str) -> None:
        await self._redis.delete(self._failures + login)
