"""Shared by the messenger senders: splitting long texts, and remembering sent parts.

A reply can take several provider calls (a long text in chunks, then each attachment).
Each part sent is recorded (Redis hash ``notifier:parts:<outbound id>``), so when a later
part fails transiently and the batch is retried, the parts already sent are not sent
again. Messenger providers (but VK) offer no idempotency key of their own.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from helpdesk_common.consuming import TransientError
from redis.asyncio import Redis


def split_text(text: str, limit: int) -> list[str]:
    """Chunks of at most ``limit`` characters, cut at paragraph, then line, then word
    boundaries (a hard cut only for a word longer than the limit)."""
    text = text.strip()
    if not text:
        return []
    chunks: list[str] = []
    while len(text) > limit:
        cut = -1
        for separator in ("\n\n", "\n", " "):
            # a separator starting at or before ``limit`` leaves a chunk that fits
            cut = text.rfind(separator, 0, limit + len(separator))
            if cut > 0:
                break
        if cut <= 0:
            cut = limit
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        chunks.append(text)
    return chunks


class PartLog:
    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    @staticmethod
    def _key(outbound_id: str) -> str:
        return f"notifier:parts:{outbound_id}"

    async def sent(self, outbound_id: str) -> dict[int, str]:
        raw = await self._redis.hgetall(self._key(outbound_id))
        return {
            int(k.decode() if isinstance(k, bytes) else k): (
                v.decode() if isinstance(v, bytes) else str(v)
            )
            for k, v in raw.items()
        }

    async def record(self, outbound_id: str, index: int, provider_id: str) -> None:
        key = self._key(outbound_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, str(index), provider_id)
            pipe.expire(key, self._ttl)
            await pipe.execute()


async def rate_limited(provider: str, retry_after: float | timedelta, max_wait: float) -> None:
    """Wait (a bounded time) as the provider asked, then hand the retry to the batch."""
    seconds = retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after
    await asyncio.sleep(max(0.0, min(float(seconds), max_wait)))
    raise TransientError(f"{provider}: rate limited, retry after {seconds:.0f}s")
