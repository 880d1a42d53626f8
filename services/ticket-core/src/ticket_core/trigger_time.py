"""Time-based triggers: "no customer message for N hours", "resolved for N hours", ...

A time trigger names a ticket timestamp (``time_anchor``, e.g. ``last_customer_message_at``)
and a delay (``time_after_hours``). Every replica scans periodically: it claims tickets
(not closed) whose anchor is at least the delay ago with ``FOR NO KEY UPDATE SKIP LOCKED``,
evaluates the trigger's conditions against each and records the outcome per (trigger,
ticket, period), the period being the anchor's value. A fired period is final, and the
firing is also claimed in ``trigger_firings`` (event id ``time:<ticket>:<period>``, a
unique insert), so each (trigger, ticket, period) fires once across replicas and
restarts; a new customer message (a new anchor value) starts a new period. A ticket that
did not match is looked at again only once it changed (``updated_at``), so non-matching
tickets never starve the scan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from helpdesk_common import correlation
from helpdesk_common.logs import get_logger
from helpdesk_common.records import new_id
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import triggers_repo as trepo
from .trigger_conditions import matches
from .trigger_engine import Fired, compile_trigger, context_for, fire
from .trigger_executor import ExecutorSettings

log = get_logger(__name__)


async def scan_time_triggers(
    session: AsyncSession, settings: ExecutorSettings, now: datetime, *, limit: int
) -> Fired:
    """One scan inside the caller's transaction: up to ``limit`` tickets per trigger."""
    result = Fired()
    for row in await trepo.enabled_time_triggers(session):
        trigger = compile_trigger(row)
        if trigger is None:
            continue
        cutoff = now - timedelta(hours=float(row["time_after_hours"]))
        for ticket in await trepo.claim_time_candidates(session, row, cutoff, limit):
            period = ticket[row["time_anchor"]]
            event = {"kind": "time", "status": ticket["status"], "trigger_depth": 0, "details": {}}
            context = await context_for(session, ticket, None, event)
            error = None
            matched = matches(trigger.condition, context)
            key = f"time:{ticket['id']}:{period.isoformat()}"
            # The firing record is the guarantee (a unique insert): a replica whose claim
            # raced with another's commit finds the period already fired here.
            if matched and await trepo.claim_firing(session, trigger.id, key, ticket["id"]):
                error = await fire(
                    session,
                    trigger,
                    ticket["id"],
                    key,
                    depth=1,
                    settings=settings,
                    now=now,
                    allow_reply=True,
                    result=result,
                )
                if error is not None:
                    await trepo.firing_failed(session, trigger.id, key, error)
            await trepo.record_time_check(
                session, trigger.id, ticket, period, fired=matched, error=error, now=now
            )
    return result


class TimeTriggerLoop:
    """Scans every ``interval`` seconds (and again at once while scans come back full)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        notify: Callable[[], None],
        settings: ExecutorSettings,
        *,
        interval: float,
        batch: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._notify = notify
        self._settings = settings
        self._interval = interval
        self._batch = batch
        self._clock = clock

    async def round(self) -> Fired:
        with correlation.bound(new_id()):
            async with self._sessions() as session, session.begin():
                fired = await scan_time_triggers(
                    session, self._settings, self._clock(), limit=self._batch
                )
        if fired.outbox_ids:
            self._notify()
        if fired.firings:
            log.info("time_triggers_fired", count=len(fired.firings))
        return fired

    async def run(self) -> None:
        while True:
            try:
                await self.round()
            except Exception as exc:  # the database is away: try again next round
                log.warning("time_triggers_deferred", error=str(exc)[:300])
            await asyncio.sleep(self._interval)
