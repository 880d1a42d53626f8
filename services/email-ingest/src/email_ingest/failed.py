"""Mails that could not be converted: recorded, never silently dropped.

Such a mail stays in the IMAP folder untouched (not flagged, not moved); the poller moves
its checkpoint past it so one broken mail cannot block the mailbox, and records it in the
Redis list ``<prefix>:failed:<mailbox>`` (newest first, capped) with the UIDVALIDITY, UID,
reason and, when it could be stored, the raw source's blob reference. Debug it with
``email-ingest parse`` on the raw source; once the parser is fixed, re-ingest it by moving
it out of the folder and back (it gets a new UID above the checkpoint).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from helpdesk_common.records import utcnow


@dataclass(frozen=True)
class FailedMail:
    mailbox: str
    folder: str
    uidvalidity: int
    uid: int
    reason: str
    raw_sha256: str | None = None


class FailedMails:
    def __init__(self, redis: Any, prefix: str, max_entries: int = 10_000) -> None:
        self.redis = redis
        self.prefix = prefix
        self.max_entries = max_entries

    def key(self, mailbox: str) -> str:
        return f"{self.prefix}:failed:{mailbox}"

    async def record(self, failed: FailedMail) -> None:
        entry = json.dumps({**asdict(failed), "at": utcnow().isoformat()})
        key = self.key(failed.mailbox)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(key, entry)
            pipe.ltrim(key, 0, self.max_entries - 1)
            await pipe.execute()

    async def list(self, mailbox: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in await self.redis.lrange(self.key(mailbox), 0, -1)]
