"""Durable per-mailbox progress: the folder's UIDVALIDITY and the last processed UID.

Kept in a Redis hash (the embedded Redis runs with ``appendonly yes``). A write succeeds
only while the writer holds the mailbox lease (checked in the same Lua script), so a
replica that lost its lease cannot move the checkpoint of the one that took over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .lease import Lease, LeaseLost

_SAVE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], 'uidvalidity', ARGV[2], 'last_uid', ARGV[3], 'folder', ARGV[4])
return 1
"""


@dataclass(frozen=True)
class Checkpoint:
    folder: str
    uidvalidity: int
    last_uid: int

    def matches(self, folder: str, uidvalidity: int) -> bool:
        """Still the same folder incarnation (else every UID we stored is meaningless)."""
        return self.folder == folder and self.uidvalidity == uidvalidity


def _str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class CheckpointStore:
    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._save = redis.register_script(_SAVE)

    def key(self, mailbox: str) -> str:
        return f"{self.prefix}:checkpoint:{mailbox}"

    async def load(self, mailbox: str) -> Checkpoint | None:
        raw = await self.redis.hgetall(self.key(mailbox))
        if not raw:
            return None
        data = {_str(k): _str(v) for k, v in raw.items()}
        return Checkpoint(data.get("folder", ""), int(data["uidvalidity"]), int(data["last_uid"]))

    async def save(self, mailbox: str, checkpoint: Checkpoint, lease: Lease) -> None:
        """Store the checkpoint; raises ``LeaseLost`` if the lease is not ours any more."""
        args = [lease.owner, checkpoint.uidvalidity, checkpoint.last_uid, checkpoint.folder]
        if not await self._save(keys=[lease.key, self.key(mailbox)], args=args):
            raise LeaseLost(f"{lease.key} is not held by {lease.owner}")
