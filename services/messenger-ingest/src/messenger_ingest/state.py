"""messenger-ingest's own small state in Redis: album parts and user reachability.

- Albums: the first item of a Telegram album to arrive claims the album key
  (``SET NX``, one day); every later item becomes a part of it. A redelivered first
  item finds its own id under the key and stays the first.
- Reachability: ``reachability:<channel>:<account>`` is a hash of user id -> JSON
  ``{"reachable", "reason", "at"}`` (Viber subscribed/unsubscribed/conversation_started,
  VK message_allow/deny, Telegram bot blocked/restarted). Read by whoever needs to know
  whether a user can be written to (nothing in the ticket database yet).
"""

from __future__ import annotations

import json

from redis.asyncio import Redis

from .outcomes import Reachability

ALBUM_TTL_SECONDS = 24 * 3600


class AlbumIndex:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def first_part(self, album: str, message_id: str) -> str | None:
        """None when ``message_id`` is the album's first part, else the first part's id."""
        key = f"album:{album}"
        await self._redis.set(key, message_id, nx=True, ex=ALBUM_TTL_SECONDS)
        first = await self._redis.get(key)
        first_id = first.decode() if isinstance(first, bytes) else first
        return None if first_id in (None, message_id) else str(first_id)


class ReachabilityStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    @staticmethod
    def key(channel: str, account: str) -> str:
        return f"reachability:{channel}:{account}"

    async def record(self, change: Reachability) -> None:
        value = {
            "reachable": change.reachable,
            "reason": change.reason,
            "at": change.at.isoformat(),
        }
        await self._redis.hset(
            self.key(change.channel.value, change.account), change.user_id, json.dumps(value)
        )
