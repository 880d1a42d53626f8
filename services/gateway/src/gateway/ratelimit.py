"""A per-source fixed-window rate limit in Redis, shared by every gateway replica.

The count of a source's window lives in Redis (``<prefix>:<source>:<minute>``), so every
replica draws from the same budget. A replica does not ask Redis on every request: it
leases tokens in blocks of ``per_minute // 100`` (at least 1) with one ``INCRBY`` (a Lua
script that also starts the key's expiry), and spends them locally until the block is
used up; then the next block. A block is granted only as far as the window's budget
reaches, so the replicas together never admit more than ``per_minute`` from a source in
a minute, and one replica alone admits exactly ``per_minute``. With several replicas a
source may be refused up to one block per other replica early (tokens leased and still
unspent there): at most 1% of the limit each. For a limit under 200 a minute the block
is one token: one Redis round trip per request, as without leases.

Redis trouble never refuses a request by itself (a lost webhook is worse than an
unthrottled one, and the broker ack still guards every 2xx), but it does not stop the
limit either: each replica also counts every source's requests in its own memory, and
when a lease fails (Redis down, or answering after the timeout, which also counts the
time the event loop is busy: a flood that loads the process makes Redis "late") it
decides by that count. A replica's own count of a source is never above the shared one,
so this refuses only what the shared limit would refuse too. Whatever decides, a replica
never lets more than the limit of one source through in one window.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

# One round trip: lease a block and start the window's expiry on its first lease.
_LEASE = """
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
if n == tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""
WINDOW_SECONDS = 60
KEY_TTL_SECONDS = 120


def granted(count_after: int, block: int, limit: int) -> int:
    """Tokens of a block of ``block`` that fit the window's ``limit``, given the window's
    count after the block was added."""
    return max(0, min(block, limit - (count_after - block)))


class _Lease:
    """One source's window in this replica: unspent tokens, the lease in flight, and the
    requests seen and admitted here."""

    __slots__ = ("admitted", "exhausted", "pending", "seen", "tokens")

    def __init__(self) -> None:
        self.tokens = 0
        self.exhausted = False
        self.seen = 0
        self.admitted = 0
        # Resolves to True when the lease failed (Redis unavailable): its waiters decide
        # by this replica's own count.
        self.pending: asyncio.Future[bool] | None = None


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
        self._block = max(1, per_minute // 100)
        self._prefix = prefix
        self._timeout = timeout_seconds
        self._lease_script = redis.register_script(_LEASE)
        self._window = -1
        self._leases: dict[str, _Lease] = {}

    @property
    def block(self) -> int:
        return self._block

    async def allow(self, source: str) -> bool:
        window = int(self._clock() // WINDOW_SECONDS)
        if window != self._window:  # a new minute: last minute's leases are void
            self._window, self._leases = window, {}
        lease = self._leases.get(source)
        if lease is None:
            lease = self._leases[source] = _Lease()
        lease.seen += 1
        seen = lease.seen  # this request's place among the source's requests here
        while True:
            if lease.tokens > 0:
                lease.tokens -= 1
                return self._admit(lease)
            if lease.exhausted:
                return False
            if lease.pending is not None:  # another request is leasing: share its answer
                if await asyncio.shield(lease.pending):
                    return self._without_redis(lease, seen)
                continue
            return await self._lease(lease, source, window, seen)

    def _admit(self, lease: _Lease) -> bool:
        if lease.admitted >= self._limit:
            return False
        lease.admitted += 1
        return True

    def _without_redis(self, lease: _Lease, seen: int) -> bool:
        """Redis did not answer: this replica's own count decides (never above the shared)."""
        return seen <= self._limit and self._admit(lease)

    async def _lease(self, lease: _Lease, source: str, window: int, seen: int) -> bool:
        """Lease a block for this request and the ones behind it; True if it got a token."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        lease.pending = done
        failed = False
        key = f"{self._prefix}:{source}:{window}"
        try:
            async with asyncio.timeout(self._timeout):
                count = await self._lease_script(keys=[key], args=[KEY_TTL_SECONDS, self._block])
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("rate_limit_unavailable", prefix=self._prefix, error=type(exc).__name__)
            failed = True
            return self._without_redis(lease, seen)
        else:
            tokens = granted(int(count), self._block, self._limit)
            if tokens == 0:
                lease.exhausted = True
                return False
            lease.tokens += tokens - 1  # one for this request
            return self._admit(lease)
        finally:
            lease.pending = None
            done.set_result(failed)
