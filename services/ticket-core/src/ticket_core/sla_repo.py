"""SLA statements: the rules with their calendars (one statement), company categories of a
batch, claiming due SLA timers, writing their markers, reordering rules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from helpdesk_common.logs import get_logger
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Table,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from .models_org import categories, companies
from .models_sla import calendars, sla_rules
from .models_workflow import audit, priorities, ticket_types
from .repository import tickets
from .sla import CalendarError, ServiceCalendar
from .sla_replan import StatusMove
from .sla_tickets import LoadedRule, SlaConfig, calendar_from, rule_from

log = get_logger(__name__)

MARKER_COLUMNS = (
    "reaction_warned_at",
    "reaction_breached_at",
    "resolution_warned_at",
    "resolution_breached_at",
)
# (timer, its due column, the "still to fire" condition): the partial indexes of models_sla.
_TIMERS = (
    ("reaction_warn", "reaction_warn_at", "first_response_at", None, "reaction_warned_at"),
    ("reaction_due", "reaction_due_at", "first_response_at", None, "reaction_breached_at"),
    ("resolution_warn", "resolution_warn_at", None, "open", "resolution_warned_at"),
    ("resolution_due", "resolution_due_at", None, "open", "resolution_breached_at"),
)


async def load_config(session: AsyncSession) -> SlaConfig:
    """Every SLA rule in evaluation order, on its calendar: one statement."""
    rows = await session.execute(
        select(
            sla_rules,
            calendars.c.timezone.label("cal_timezone"),
            calendars.c.working_hours.label("cal_working_hours"),
            calendars.c.exception_days.label("cal_exception_days"),
        )
        .join(calendars, calendars.c.id == sla_rules.c.calendar_id)
        .order_by(sla_rules.c.position, sla_rules.c.id)
    )
    built: dict[int, ServiceCalendar] = {}
    loaded: list[LoadedRule] = []
    for row in rows.mappings():
        try:
            calendar = built.get(row["calendar_id"])
            if calendar is None:
                calendar = calendar_from(
                    row["cal_timezone"], row["cal_working_hours"], row["cal_exception_days"]
                )
                built[row["calendar_id"]] = calendar
            loaded.append(rule_from(dict(row), calendar))
        except (CalendarError, ValueError) as exc:  # written before a validation existed
            log.error("sla_rule_unusable", rule_id=row["id"], error=str(exc)[:300])
    return SlaConfig.of(loaded)


async def company_categories(
    session: AsyncSession, company_ids: Iterable[int | None]
) -> dict[int, int]:
    wanted = list({c for c in company_ids if c is not None})
    if not wanted:
        return {}
    rows = await session.execute(
        select(companies.c.id, companies.c.category_id).where(companies.c.id.in_(wanted))
    )
    return {int(c): int(k) for c, k in rows}


async def status_moves(
    session: AsyncSession, ticket_ids: Iterable[int]
) -> dict[int, list[StatusMove]]:
    """Every status change (categories) of the tickets, from the audit trail: one statement."""
    wanted = sorted(set(ticket_ids))
    found: dict[int, list[StatusMove]] = {t: [] for t in wanted}
    if wanted:
        rows = await session.execute(
            select(audit.c.ticket_id, audit.c.created_at, audit.c.old_value, audit.c.new_value)
            .where(audit.c.ticket_id.in_(wanted), audit.c.field == "status")
            .order_by(audit.c.ticket_id, audit.c.id)
        )
        for ticket_id, at, old, new in rows:
            found[int(ticket_id)].append(StatusMove(at, old, new))
    return found


async def claim_due(session: AsyncSession, now: datetime, limit: int) -> dict[int, dict[str, Any]]:
    """Lock up to ``limit`` tickets per SLA timer whose time has come and that have not
    fired it, skipping rows another transaction holds (another replica, a writer)."""
    claimed: dict[int, dict[str, Any]] = {}
    for _, due_column, unreacted, status, marker in _TIMERS:
        due = tickets.c[due_column]
        where = [due <= now, tickets.c[marker].is_(None)]
        if unreacted:
            where.append(tickets.c[unreacted].is_(None))
        if status:
            where.append(tickets.c.status == status)
        rows = await session.execute(
            select(tickets)
            .where(*where)
            .order_by(due)
            .limit(limit)
            .with_for_update(skip_locked=True, key_share=True)
        )
        for r in rows.mappings():
            claimed.setdefault(int(r["id"]), dict(r))
    return claimed


async def write_markers(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """One executemany UPDATE of the fired markers (rows hold every marker's new value)."""
    if rows:
        await session.execute(
            update(tickets)
            .where(tickets.c.id == bindparam("b_id"))
            .values({c: bindparam(f"b_{c}") for c in MARKER_COLUMNS}),
            [
                {"b_id": r["id"], **{f"b_{c}": r.get(c) for c in MARKER_COLUMNS}}
                for r in sorted(rows, key=lambda r: int(r["id"]))
            ],
        )


async def missing_ids(session: AsyncSession, table: Table, ids: Iterable[int]) -> list[int]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    rows = await session.execute(select(table.c.id).where(table.c.id.in_(wanted)))
    found = {int(r[0]) for r in rows}
    return [i for i in wanted if i not in found]


REFERENCED: tuple[tuple[str, Table, str], ...] = (
    ("ticket_type_ids", ticket_types, "ticket type"),
    ("priority_ids", priorities, "priority"),
    ("company_category_ids", categories, "company category"),
    ("company_ids", companies, "company"),
)


async def next_position(session: AsyncSession) -> int:
    found = await session.scalar(select(func.max(sla_rules.c.position)))
    return int(found) + 1 if found is not None else 0


async def rule_ids_locked(session: AsyncSession) -> list[int]:
    rows = await session.execute(
        select(sla_rules.c.id).order_by(sla_rules.c.position, sla_rules.c.id).with_for_update()
    )
    return [int(r[0]) for r in rows]


async def set_positions(session: AsyncSession, ordered_ids: Sequence[int]) -> None:
    if ordered_ids:
        await session.execute(
            update(sla_rules)
            .where(sla_rules.c.id == bindparam("b_id"))
            .values(position=bindparam("b_position")),
            [{"b_id": rid, "b_position": i} for i, rid in enumerate(ordered_ids)],
        )


OVERDUE_DOC = (
    "true: the planned resolution has passed on an Open ticket (or had passed when it went "
    "Pending), or the planned reaction has passed without a reaction; false: the others."
)


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """Tickets late on their SLA at ``now`` (never null, so it can be negated). A Pending
    ticket's resolution clock is paused: it is late only if it already was at the pause."""
    t = tickets.c
    late_resolution = or_(
        and_(t.status == "open", t.resolution_due_at <= now),
        and_(t.status == "pending", t.resolution_due_at <= func.coalesce(t.sla_paused_at, now)),
    )
    late_reaction = and_(t.first_response_at.is_(None), t.reaction_due_at <= now)
    return func.coalesce(or_(late_resolution, late_reaction), false(), type_=Boolean)
