"""Provider rate limits as token buckets in Redis, shared by every notifier replica.

A bucket (``notifier:rate:<name>``, a hash of tokens and the last refill time) refills at
``rate`` tokens per second up to ``burst``. One call takes a token from *every* bucket it
names, atomically (a Lua script, Redis's own clock), or from none and answers how long
to wait: a Telegram message needs both its chat's bucket and the bot's global bucket.

``RateLimiter.acquire`` waits (asyncio sleep: other coroutines go on) until the tokens
are there, up to ``max_wait`` in total; past that it raises ``RateLimited`` (transient):
the consumer sends the batch's records of other tickets first, then the batch is retried
(records already sent are skipped by the send log), so one busy chat does not hold up
the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from helpdesk_common.consuming import TransientError
from redis.asyncio import Redis

# KEYS: bucket keys; ARGV: rate1, burst1, rate2, burst2, ...; returns 0 (taken) or the
# milliseconds to wait before every bucket has a token.
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local levels = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i - 1]) / 1000
  local burst = tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(state[1]) or burst
  local at = tonumber(state[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
  levels[i] = tokens
  if tokens < 1 then
    wait = math.max(wait, math.ceil((1 - tokens) / rate))
  end
end
if wait > 0 then
  return wait
end
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i - 1]) / 1000
  local burst = tonumber(ARGV[2 * i])
  redis.call('HSET', key, 'tokens', levels[i] - 1, 'at', now)
  redis.call('PEXPIRE', key, math.ceil(burst / rate) + 1000)
end
return 0
"""


class RateLimited(TransientError):
    """A bucket stays empty longer than a send may wait: retry the batch later (records
    of other tickets in the batch are sent first: see ``OutboundSender``)."""


@dataclass(frozen=True)
class Limit:
    name: str
    rate: float  # tokens per second
    burst: float = 1.0

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(f"rate limit {self.name}: rate must be > 0 and burst >= 1")


class RateLimiter:
    def __init__(self, redis: Redis, max_wait_seconds: float) -> None:
        self._redis = redis
        self._max_wait = max_wait_seconds
        self._script: Any = redis.register_script(_TAKE)

    async def try_take(self, limits: Sequence[Limit]) -> float:
        """Take one token from each bucket (0.0) or none (the seconds to wait)."""
        if not limits:
            return 0.0
        keys = [f"notifier:rate:{limit.name}" for limit in limits]
        args: list[float] = []
        for limit in limits:
            args += [limit.rate, limit.burst]
        wait_ms = int(await self._script(keys=keys, args=args))
        return wait_ms / 1000

    async def acquire(self, limits: Sequence[Limit]) -> None:
        waited = 0.0
        while True:
            wait = await self.try_take(limits)
            if wait <= 0:
                return
            if waited + wait > self._max_wait:
                names = ", ".join(limit.name for limit in limits)
                raise RateLimited(f"rate limited ({names}): retry in {wait:.1f}s")
            await asyncio.sleep(wait)
            waited += wait
