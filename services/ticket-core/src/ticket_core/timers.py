"""Status timers: Pending -> Open at ``pending_until``, Resolved -> Closed at ``auto_close_at``.

The due times live on the tickets (set in the same transaction as the status change that
starts them), so they survive restarts. Every replica runs a ``TimerLoop``; a round
claims due tickets with ``SELECT ... FOR UPDATE SKIP LOCKED`` and fires them in one
transaction that changes the ticket, writes the audit rows and puts the ticket events in
the outbox. A ticket claimed by one replica is skipped by the others, and once fired it
is no longer due (its status changed), so each timer fires once. A round's firings commit
together; the relay publishes their events after the commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from helpdesk_common import correlation
from helpdesk_common.logs import get_logger
from helpdesk_common.records import new_id
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import workflow_repo as wrepo
from .audit import SYSTEM
from .catalog import load_catalog
from .models import TicketStatus as Category
from .sla_timers import fire_sla_due
from .workflow import ChangeRequest, Outcome, apply_to_locked

log = get_logger(__name__)


@dataclass(frozen=True)
class Timer:
    name: str
    status: Category  # the tickets it applies to
    due_column: str
    target: Category
    reason: str


TIMERS = (
    Timer("pending", Category.PENDING, "pending_until", Category.OPEN, "pending_until reached"),
    Timer("auto_close", Category.RESOLVED, "auto_close_at", Category.CLOSED, "auto-close"),
)


@dataclass
class Fired:
    ticket_ids: list[int] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)


async def fire_due(
    session: AsyncSession,
    now: datetime,
    *,
    limit: int,
    auto_close_after: timedelta,
) -> Fired:
    """Fire up to ``limit`` due timers of each kind inside the caller's transaction."""
    fired = Fired()
    catalog = None
    for timer in TIMERS:
        claimed = await wrepo.claim_due(session, timer.status, timer.due_column, now, limit)
        if not claimed:
            continue
        catalog = catalog or await load_catalog(session)
        outcome = Outcome()
        await apply_to_locked(
            session,
            {t["id"]: t for t in claimed},
            ChangeRequest(status=timer.target, reason=timer.reason),
            SYSTEM,
            catalog,
            catalog.default_status(timer.target),
            outcome,
            now,
            auto_close_after,
        )
        for ticket_id, error in outcome.failed.items():
            log.error("timer_refused", timer=timer.name, ticket_id=ticket_id, error=error)
        fired.ticket_ids.extend(outcome.updated)
        fired.outbox_ids.extend(outcome.outbox_ids)
    sla = await fire_sla_due(session, now, limit=limit)  # warnings and breaches (sla_timers.py)
    fired.ticket_ids.extend(t for t in sla.ticket_ids if t not in fired.ticket_ids)
    fired.outbox_ids.extend(sla.outbox_ids)
    return fired


class TimerLoop:
    """Fires due timers every ``interval`` seconds (and at once again while rounds are full)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        notify: Callable[[], None],
        *,
        interval: float,
        auto_close_after: timedelta,
        batch: int = 100,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._notify = notify
        self._interval = interval
        self._auto_close_after = auto_close_after
        self._batch = batch
        self._clock = clock
        self.fired_count = 0

    async def round(self) -> list[int]:
        """One round: fire what is due now; returns the ids of the tickets changed."""
        with correlation.bound(new_id()):
            async with self._sessions() as session, session.begin():
                fired = (
                    await fire_due(
                        session,
                        self._clock(),
                        limit=self._batch,
                        auto_close_after=self._auto_close_after,
                    )
                ).ticket_ids
        if fired:
            self._notify()
            self.fired_count += len(fired)
            log.info("timers_fired", count=len(fired))
        return fired

    async def run(self) -> None:
        while True:
            try:
                while len(await self.round()) >= self._batch:
                    pass
            except Exception as exc:  # the database is away: try again next round
                log.warning("timers_deferred", error=str(exc)[:300])
            await asyncio.sleep(self._interval)
