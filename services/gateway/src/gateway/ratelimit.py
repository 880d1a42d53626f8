"""A per-source fixed-window rate limit in Redis, shared by every gateway replica.

The limit fails open towards Redis trouble: when Redis is down or slow, no request is
refused *because of Redis* (a lost webhook is worse than an unthrottled one, and the
broker ack still guards every 2xx). It does not stop limiting, though: each replica also
counts every source in its own memory, and when Redis does not answer it decides by that
count. A replica's own count of a source is never above the shared one, so this refuses
only what the shared limit would refuse too. A flood that loads the process so much that
Redis replies arrive late (the timeout counts the time the event loop is busy) is
therefore still throttled, instead of being let through exactly when it matters.

Whatever decides, a replica never lets more than the limit of one source through in one
window: with Redis answering that is what the shared count already guarantees.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
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


class _LocalWindow:
    """This replica's counts for the current window (older windows are dropped)."""

    def __init__(self) -> None:
        self.window = -1
        self.seen: Counter[str] = Counter()
        self.allowed: Counter[str] = Counter()

    def at(self, window: int) -> _LocalWindow:
        if window != self.window:
            self.window, self.seen, self.allowed = window, Counter(), Counter()
        return self


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
        self._local = _LocalWindow()

    async def allow(self, source: str) -> bool:
        window = int(self._clock() // 60)
        local = self._local.at(window)
        local.seen[source] += 1
        seen = local.seen[source]
        key = f"{self._prefix}:{source}:{window}"
        try:
            async with asyncio.timeout(self._timeout):
                count = int(await self._count(keys=[key], args=[120]))
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("rate_limit_unavailable", prefix=self._prefix, error=type(exc).__name__)
            count = seen  # this replica's own count: never above the shared one
        if count > self._limit:
            return False
        if local.window == window:  # (a request of the next window may have reset it)
            if local.allowed[source] >= self._limit:
                return False
            local.allowed[source] += 1
        return True
