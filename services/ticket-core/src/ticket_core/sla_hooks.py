"""Where the ticket writers meet the SLA: ingestion plans new tickets and resumes paused
ones, the workflow (API, bulk, timers) pauses, resumes and takes hand-set times.

The rules and calendars are loaded at most once per transaction (one statement, see
``sla_repo.load_config``) and only when a writer needs them: a batch with new tickets,
a ticket leaving Pending with a paused clock. The company categories of a batch's new
tickets cost one more statement, only when an enabled rule looks at categories.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from . import sla_repo
from .audit import FieldChange
from .models import TicketStatus as Category
from .sla_tickets import (
    AUDITED_SLA,
    SlaConfig,
    Target,
    after_status_move,
    facts_of,
    hand_set,
    no_sla,
    planned,
)


class SlaContext:
    """The SLA configuration of one transaction, loaded on first use."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._config: SlaConfig | None = None

    async def config(self) -> SlaConfig:
        if self._config is None:
            self._config = await sla_repo.load_config(self._session)
        return self._config

    async def plan_new(self, tickets: Sequence[dict[str, Any]]) -> None:
        """Set every SLA column of tickets being registered (their ``created_at`` is the
        registration time), in place."""
        if not tickets:
            return
        config = await self.config()
        if not config.has_enabled:
            for ticket in tickets:
                ticket.update(no_sla())
            return
        categories = (
            await sla_repo.company_categories(self._session, (t.get("company_id") for t in tickets))
            if config.wants_categories
            else {}
        )
        for ticket in tickets:
            category = categories.get(ticket["company_id"]) if ticket.get("company_id") else None
            ticket.update(planned(config, facts_of(ticket, category)))

    async def status_moved(
        self, previous_status: str, ticket: dict[str, Any], now: datetime
    ) -> list[FieldChange]:
        """Pause or resume the resolution clock of a ticket whose status just moved (its
        other SLA columns still as they were); returns the audited changes."""
        config = SlaConfig()
        if previous_status == Category.PENDING and ticket.get("sla_paused_at") is not None:
            config = await self.config()
        values = after_status_move(config, previous_status, ticket, now)
        changes = [
            FieldChange(f, ticket.get(f), values[f])
            for f in AUDITED_SLA
            if f in values and values[f] != ticket.get(f)
        ]
        ticket.update(values)
        return changes


async def apply_to_planned(
    session: AsyncSession,
    locked: Mapping[int, dict[str, Any]],
    planned_rows: Mapping[int, dict[str, Any]],
    dues: Mapping[Target, datetime | None],
    now: datetime,
) -> None:
    """The SLA part of workflow changes, in place on the planned rows: pause or resume on a
    status move, then the hand-set planned times (``dues``: the targets given)."""
    context = SlaContext(session)
    for ticket_id, after in planned_rows.items():
        await context.status_moved(locked[ticket_id]["status"], after, now)
        if dues:
            after.update(hand_set(after, dues, now))
