"""Per outbound id, what happened to it: recorded before and after the provider call.

``sending`` before the call, ``sent`` or ``failed`` after. A redelivered record whose id
is ``sent``/``failed`` is not sent again; one left at ``sending`` (the process died during
the call) is sent again, because not sending would lose it (email receivers drop the
copy by its Message-ID).
"""

from __future__ import annotations

from enum import StrEnum

from redis.asyncio import Redis


class SendState(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class SendLog:
    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    @staticmethod
    def _key(outbound_id: str) -> str:
        return f"notifier:outbound:{outbound_id}"

    async def state(self, outbound_id: str) -> SendState | None:
        value = await self._redis.get(self._key(outbound_id))
        if not value:
            return None
        return SendState(value.decode() if isinstance(value, bytes) else value)

    async def record(self, outbound_id: str, state: SendState) -> None:
        await self._redis.set(self._key(outbound_id), state.value, ex=self._ttl)
