"""A per-source fixed-window rate limit in Redis, shared by every gateway replica.

The limit fails open: when Redis is down or slow, requests are let through (and a warning
logged) rather than refused, because a lost webhook is worse than an unthrottled one and
the broker ack still guards every 2xx.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

# One round trip: count the request and start the window's expiry on its first one.
_COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class RateLimiter:
    def __init__(
        self,
        redis: Redis,
        per_minute: int,
        prefix: str = "gateway:rl",
        clock: Callable[[], float] = time.time,
        timeout_seconds: float = 1.0,
    ) -> None:
        self._redis = redis
        self._clock = clock
        self._limit = per_minute
        self._prefix = prefix
        self._timeout = timeout_seconds
        self._count = redis.register_script(_COUNT)

    async def allow(self, source: str) -> bool:
        window = int(self._clock() // 60)
        key = f"{self._prefix}:{source}:{window}"
        try:
            async with asyncio.timeout(self._timeout):
                count = await self._count(keys=[key], args=[120])
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("rate_limit_unavailable", prefix=self._prefix, error=type(exc).__name__)
            return True
        return int(count) <= self._limit
