"""Which outbound message a provider's message id belongs to (a Redis map).

The notifier records the id a provider gave a message it sent (Viber ``message_token``,
Telegram ``message_id``, VK message id); messenger-ingest reads it when the provider
later reports ``delivered``/``seen``/``failed`` for that id, so the delivery event can
name our ``outbound_id``. Entries expire (default 30 days): receipts come within days.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from redis.asyncio import Redis

from .records import Channel

DEFAULT_TTL_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class SentMessage:
    outbound_id: str
    message_id: int | None = None


class SentMessageMap:
    def __init__(self, redis: Redis, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    @staticmethod
    def _key(channel: Channel, account: str, provider_id: str) -> str:
        return f"sent:{channel.value}:{account}:{provider_id}"

    async def remember(
        self, channel: Channel, account: str, provider_id: str, sent: SentMessage
    ) -> None:
        value = json.dumps({"outbound_id": sent.outbound_id, "message_id": sent.message_id})
        await self._redis.set(self._key(channel, account, provider_id), value, ex=self._ttl)

    async def lookup(self, channel: Channel, account: str, provider_id: str) -> SentMessage | None:
        value = await self._redis.get(self._key(channel, account, provider_id))
        if not value:
            return None
        data = json.loads(value)
        return SentMessage(str(data["outbound_id"]), data.get("message_id"))
