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
from .audit import FieldChange, changes_between
from .models import TicketStatus as Category
from .sla_replan import REPLAN_AUDITED, Replan, StatusMove, facts_changed, replan
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

    def __init__(self, session: AsyncSession, config: SlaConfig | None = None) -> None:
        """``config``: the SLA rules when the caller has them already (a batch's cached
        ``IngestConfig``); otherwise they are read on first use."""
        self._session = session
        self._config: SlaConfig | None = config

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
) -> dict[int, Replan]:
    """The SLA part of workflow changes, in place on the planned rows: pause or resume on a
    status move, re-plan the tickets whose type, priority or company changed
    (``sla_replan.py``), then the hand-set planned times (``dues``: the targets given,
    marked manual). Returns the re-plans by ticket id (for the audit trail)."""
    context = SlaContext(session)
    for ticket_id, after in planned_rows.items():
        await context.status_moved(locked[ticket_id]["status"], after, now)
        for target in dues:
            after[f"{target}_due_manual"] = True
    replans = await _replan(context, session, locked, planned_rows, now)
    if dues:
        for after in planned_rows.values():
            after.update(hand_set(after, dues, now))
    return replans


async def _replan(
    context: SlaContext,
    session: AsyncSession,
    locked: Mapping[int, dict[str, Any]],
    planned_rows: Mapping[int, dict[str, Any]],
    now: datetime,
) -> dict[int, Replan]:
    changed = {t: a for t, a in planned_rows.items() if facts_changed(locked[t], a)}
    if not changed:
        return {}
    config = await context.config()
    if not config.has_enabled and all(a.get("sla_rule_id") is None for a in changed.values()):
        return {}
    categories = (
        await sla_repo.company_categories(session, (a.get("company_id") for a in changed.values()))
        if config.wants_categories
        else {}
    )
    history = await sla_repo.status_moves(session, changed)
    replans: dict[int, Replan] = {}
    for ticket_id, after in changed.items():
        moves = history.get(ticket_id, [])
        before_status = locked[ticket_id]["status"]
        if after["status"] != before_status:  # this change's own move, not yet audited
            moves = [*moves, StatusMove(now, before_status, after["status"])]
        company = after.get("company_id")
        facts = facts_of(after, categories.get(company) if company else None)
        found = replan(config, after, facts, moves, now)
        if found is not None:
            after.update(found.values)
            replans[ticket_id] = found
    return replans


def split_replan_audit(
    found: Replan | None,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    changes: list[FieldChange],
) -> tuple[list[FieldChange], list[FieldChange]]:
    """(the change's other audited fields, the re-plan's: rule and planned times, old ->
    new over the whole change) so the re-plan gets its own reason in the audit trail."""
    if found is None:
        return changes, []
    fields = [f for f in REPLAN_AUDITED if f in found.values]
    ours = changes_between(dict(before), dict(after), fields)
    return [c for c in changes if c.field not in fields], ours
