"""The routing table as one snapshot, cached in process for a few seconds.

Ingestion reads the snapshot at most once per ``ttl`` (not once per batch), so an idle
routing table (no enabled rule, no default observer, no contact or company card, no
account default group) costs a batch no statement at all. A change through the routing
API invalidates this process's copy; other replicas see it within ``ttl``
(``TICKET_CORE_ROUTING_CACHE_SECONDS``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from . import routing_repo as rrepo
from .routing import Rule, ordered


@dataclass(frozen=True)
class Snapshot:
    rules: tuple[Rule, ...] = ()  # enabled, in table order
    default_observers: frozenset[int] = frozenset()
    contact_cards: bool = False
    company_cards: bool = False
    account_groups: Mapping[tuple[str, str], int] = field(default_factory=dict)

    @property
    def idle(self) -> bool:
        return not (
            self.rules
            or self.default_observers
            or self.contact_cards
            or self.company_cards
            or self.account_groups
        )

    @property
    def uses_company_category(self) -> bool:
        return any(r.conditions.uses_company_category for r in self.rules)


async def load_snapshot(session: AsyncSession) -> Snapshot:
    rules = ordered(Rule.from_row(r) for r in await rrepo.rules(session, enabled_only=True))
    contact_cards, company_cards = await rrepo.cards_exist(session)
    return Snapshot(
        rules=tuple(rules),
        default_observers=frozenset(await rrepo.default_observers(session)),
        contact_cards=contact_cards,
        company_cards=company_cards,
        account_groups=await rrepo.account_default_groups(session),
    )


class SnapshotCache:
    def __init__(self, ttl: float = 5.0, preloaded: Snapshot | None = None) -> None:
        self.ttl = ttl
        self._snapshot: Snapshot | None = preloaded
        self._loaded_at = time.monotonic()

    async def get(self, session: AsyncSession) -> Snapshot:
        now = time.monotonic()
        if self._snapshot is None or now - self._loaded_at >= self.ttl:
            self._snapshot = await load_snapshot(session)
            self._loaded_at = now
        return self._snapshot

    def invalidate(self) -> None:
        self._snapshot = None


SNAPSHOTS = SnapshotCache()
