"""Statements of the workflow writers (API changes, bulk changes, timers): set-based, no rules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from . import batch_repo
from .models_org import agents, group_members, groups
from .models_workflow import observer_agents, observer_groups
from .repository import tickets
from .sla_replan import MANUAL_COLUMNS
from .sla_tickets import SLA_COLUMNS
from .statuses import CLOCK_COLUMNS

# Everything a workflow change may write, in one executemany UPDATE.
WORKFLOW_COLUMNS = (
    *CLOCK_COLUMNS,
    "priority_id",
    "type_id",
    "responsible_agent_id",
    "responsible_group_id",
    "first_response_at",
    "updated_at",
    *SLA_COLUMNS,
    # --- routing (migration 0006) ---
    "service_object_id",
    "custom_attributes",
    *MANUAL_COLUMNS,  # --- sla re-planning (migration 0014) ---
)


async def lock_tickets(session: AsyncSession, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Lock the tickets (in id order, like ingestion, so writers never deadlock) and return
    their current rows."""
    return {int(r["id"]): r for r in await batch_repo.lock_tickets(session, ids)}


async def claim_due(
    session: AsyncSession, status: str, column: str, now: datetime, limit: int
) -> list[dict[str, Any]]:
    """Lock up to ``limit`` tickets in ``status`` whose ``column`` time has come, skipping
    rows another transaction holds: two replicas never claim the same ticket, and a row
    claimed and changed by one is no longer due for the other."""
    due = tickets.c[column]
    rows = await session.execute(
        select(tickets)
        .where(tickets.c.status == status, due.is_not(None), due <= now)
        .order_by(due)
        .limit(limit)
        .with_for_update(skip_locked=True, key_share=True)
    )
    return [dict(r) for r in rows.mappings()]


async def write_tickets(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """One executemany UPDATE of every workflow column (rows hold the full new values)."""
    if not rows:
        return
    await session.execute(
        update(tickets)
        .where(tickets.c.id == bindparam("b_id"))
        .values({c: bindparam(f"b_{c}") for c in WORKFLOW_COLUMNS}),
        [
            {"b_id": r["id"], **{f"b_{c}": r.get(c) for c in WORKFLOW_COLUMNS}}
            for r in sorted(rows, key=lambda r: int(r["id"]))
        ],
    )


async def observers_of(
    session: AsyncSession, ticket_ids: Iterable[int]
) -> dict[int, tuple[frozenset[int], frozenset[int]]]:
    """Per ticket: (observing agent ids, observing group ids)."""
    wanted = list(set(ticket_ids))
    found: dict[int, tuple[set[int], set[int]]] = {t: (set(), set()) for t in wanted}
    if wanted:
        for table, slot, column in (
            (observer_agents, 0, "agent_id"),
            (observer_groups, 1, "group_id"),
        ):
            rows = await session.execute(
                select(table.c.ticket_id, table.c[column]).where(table.c.ticket_id.in_(wanted))
            )
            for ticket_id, member in rows:
                found[int(ticket_id)][slot].add(int(member))
    return {t: (frozenset(a), frozenset(g)) for t, (a, g) in found.items()}


async def replace_observers(
    session: AsyncSession, kind: str, per_ticket: dict[int, frozenset[int]]
) -> None:
    """Set the observing agents (``kind='agent'``) or groups of the given tickets."""
    if not per_ticket:
        return
    table, column = (
        (observer_agents, "agent_id") if kind == "agent" else (observer_groups, "group_id")
    )
    await session.execute(delete(table).where(table.c.ticket_id.in_(list(per_ticket))))
    rows = [{"ticket_id": t, column: m} for t, members in per_ticket.items() for m in members]
    if rows:
        await session.execute(insert(table), rows)


async def active_agents(session: AsyncSession, ids: Iterable[int]) -> set[int]:
    """The given agents that exist and are active, share-locked until the transaction ends
    (so a concurrent deactivation waits, then sees what this transaction assigned)."""
    wanted = list(set(ids))
    if not wanted:
        return set()
    rows = await session.execute(
        select(agents.c.id)
        .where(agents.c.id.in_(wanted), agents.c.active)
        .order_by(agents.c.id)
        .with_for_update(read=True)
    )
    return {int(r[0]) for r in rows}


async def existing_groups(session: AsyncSession, ids: Iterable[int]) -> set[int]:
    wanted = list(set(ids))
    if not wanted:
        return set()
    rows = await session.execute(select(groups.c.id).where(groups.c.id.in_(wanted)))
    return {int(r[0]) for r in rows}


async def memberships(
    session: AsyncSession, pairs: Iterable[tuple[int, int]]
) -> set[tuple[int, int]]:
    """Which (agent id, group id) pairs are memberships."""
    wanted = list(set(pairs))
    if not wanted:
        return set()
    rows = await session.execute(
        select(group_members.c.agent_id, group_members.c.group_id).where(
            tuple_(group_members.c.agent_id, group_members.c.group_id).in_(wanted)
        )
    )
    return {(int(a), int(g)) for a, g in rows}
