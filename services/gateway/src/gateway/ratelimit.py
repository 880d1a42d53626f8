"""A per-source fixed-window rate limit in Redis, shared by every gateway replica."""

from __future__ import annotations

import time
from collections.abc import Callable

from redis.asyncio import Redis


class RateLimiter:
    def __init__(
        self,
        redis: Redis,
        per_minute: int,
        prefix: str = "gateway:rl",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._clock = clock
        self._limit = per_minute
        self._prefix = prefix

    async def allow(self, source: str) -> bool:
        window = int(self._clock() // 60)
        key = f"{self._prefix}:{source}:{window}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = await pipe.execute()
        return int(count) <= self._limit
