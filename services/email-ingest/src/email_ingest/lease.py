"""A Redis lease with expiry: one replica works a mailbox at a time.

The lease is a key holding the owner's id with a TTL (``SET NX PX``). Only the holder can
renew or release it (compare-and-set in Lua). The holder renews every third of the TTL; a
replica that dies stops renewing, the key expires, and the next replica's acquire attempt
succeeds. Writes that must only come from the holder (the checkpoint) are fenced with the
same compare in Lua (see ``checkpoints.py``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from helpdesk_common import logs

log = logs.get_logger(__name__)

_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1
end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LeaseLost(Exception):
    """Another replica holds the lease now (or we could not renew it in time)."""


class Lease:
    def __init__(self, redis: Any, key: str, owner: str, ttl_seconds: float) -> None:
        self.redis = redis
        self.key = key
        self.owner = owner
        self.ttl_seconds = ttl_seconds
        self._ttl_ms = max(1, int(ttl_seconds * 1000))
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._renewed_at = 0.0

    @property
    def interval(self) -> float:
        """How often the holder renews, and a waiting replica retries."""
        return self.ttl_seconds / 3

    async def try_acquire(self) -> bool:
        started = time.monotonic()
        if await self._acquire(keys=[self.key], args=[self.owner, self._ttl_ms]):
            self._renewed_at = started
            return True
        return False

    async def renew(self) -> bool:
        started = time.monotonic()
        if await self._renew(keys=[self.key], args=[self.owner, self._ttl_ms]):
            self._renewed_at = started
            return True
        return False

    async def release(self) -> None:
        await self._release(keys=[self.key], args=[self.owner])

    async def holder(self) -> str | None:
        value = await self.redis.get(self.key)
        if isinstance(value, bytes):
            return value.decode()
        return str(value) if value is not None else None

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until the lease is ours (``True``) or ``stop`` is set (``False``)."""
        while not stop.is_set():
            try:
                if await self.try_acquire():
                    return True
            except Exception as exc:  # Redis down: keep trying, never crash the poller
                log.warning("lease_acquire_failed", lease=self.key, error=repr(exc))
            try:
                await asyncio.wait_for(stop.wait(), self.interval)
            except TimeoutError:
                pass
        return False

    async def keep(self) -> None:
        """Renew until the lease is lost, then return (it never returns while we hold it)."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                if not await self.renew():
                    log.warning("lease_lost", lease=self.key, reason="taken or expired")
                    return
            except Exception as exc:
                # Unsure whether we still hold it: give it up before it could have expired.
                if time.monotonic() - self._renewed_at > self.ttl_seconds * 0.8:
                    log.warning("lease_lost", lease=self.key, reason=repr(exc))
                    return
                log.warning("lease_renew_failed", lease=self.key, error=repr(exc))
