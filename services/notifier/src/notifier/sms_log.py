"""What the notifier knows about each SMS it sent (Redis), and which ones it must poll.

- ``notifier:sms:<outbound id>``: a hash with the account, provider, provider message id,
  the number, the encoding and the segment count the text went out as (30 days).
- ``notifier:sms:poll``: a sorted set of SMS whose provider reports delivery only when
  asked, scored by when to ask next. A replica claims an entry by removing it
  (``ZREM`` returns 1 for one replica only) and puts it back with the next time.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio import Redis

POLL_KEY = "notifier:sms:poll"


@dataclass(frozen=True)
class SentSms:
    outbound_id: str
    message_id: int | None
    account: str
    provider: str
    provider_message_id: str
    to: str
    segments: int
    encoding: str


@dataclass(frozen=True)
class PollEntry:
    outbound_id: str
    message_id: int | None
    account: str
    provider_message_id: str
    to: str
    since: float
    last_state: str | None = None

    def encode(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def decode(cls, value: str | bytes) -> PollEntry:
        return cls(**json.loads(value))


class SmsLog:
    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    @staticmethod
    def key(outbound_id: str) -> str:
        return f"notifier:sms:{outbound_id}"

    async def record(self, sms: SentSms) -> None:
        values: dict[Any, Any] = {k: str(v) for k, v in asdict(sms).items() if v is not None}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key(sms.outbound_id), mapping=values)
            pipe.expire(self.key(sms.outbound_id), self._ttl)
            await pipe.execute()

    async def schedule(self, entry: PollEntry, at: float) -> None:
        await self._redis.zadd(POLL_KEY, {entry.encode(): at})

    async def claim_due(self, limit: int, now: float | None = None) -> list[PollEntry]:
        """Due entries this replica won (each is handed to one replica only)."""
        due: list[Any] = await self._redis.zrangebyscore(
            POLL_KEY, "-inf", now if now is not None else time.time(), start=0, num=limit
        )
        won: list[PollEntry] = []
        for member in due:
            if await self._redis.zrem(POLL_KEY, member):
                won.append(PollEntry.decode(member))
        return won
