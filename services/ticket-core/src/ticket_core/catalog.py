"""The workflow catalogue as one snapshot: custom statuses, priorities, ticket types.

These tables are small (tens of rows), so a writer loads them whole, in one statement,
at the start of its transaction: ingestion once per batch, the API once per request, the
timers once per round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, cast, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from .models import TicketStatus as Category
from .models_workflow import priorities, statuses, ticket_types


@dataclass(frozen=True)
class Status:
    id: int
    name: str
    category: Category
    is_default: bool
    active: bool = True  # (migration 0015) inactive: kept by tickets, not a new choice


@dataclass(frozen=True)
class Catalog:
    statuses: dict[int, Status]
    priorities: dict[int, str]
    types: dict[int, str]
    internal_types: frozenset[int]
    default_priority_id: int
    # --- catalogue active flag (migration 0015) ---
    inactive_priorities: frozenset[int] = frozenset()
    inactive_types: frozenset[int] = frozenset()

    def default_status(self, category: str) -> Status:
        wanted = Category(category)
        return next(s for s in self.statuses.values() if s.category is wanted and s.is_default)

    def is_internal(self, type_id: int | None) -> bool:
        return type_id is not None and type_id in self.internal_types

    def inactive_choice(self, before: dict[str, Any], after: dict[str, Any]) -> str | None:
        """Why ``after`` may not be written: it gives the ticket a status, priority or
        type that is inactive (one the ticket has already is kept); else None."""
        for column, what, names, inactive in (
            ("status_id", "status", {i: s.name for i, s in self.statuses.items()}, None),
            ("priority_id", "priority", self.priorities, self.inactive_priorities),
            ("type_id", "ticket type", self.types, self.inactive_types),
        ):
            value = after.get(column)
            if value is None or value == before.get(column):
                continue
            off = not self.statuses[value].active if inactive is None else value in inactive
            if off:
                return f"{what} {names.get(value, value)!r} is inactive"
        return None

    def status_name(self, status_id: int | None) -> str | None:
        status = self.statuses.get(status_id) if status_id is not None else None
        return status.name if status else None


async def load_catalog(session: AsyncSession) -> Catalog:
    """One round trip: every status, priority and type, tagged by kind."""
    query = union_all(
        select(
            literal("status").label("kind"),
            statuses.c.id,
            statuses.c.name,
            statuses.c.category.label("extra"),
            statuses.c.is_default.label("flag"),
            statuses.c.active,
        ),
        select(
            literal("priority"),
            priorities.c.id,
            priorities.c.name,
            cast(priorities.c.position, Text),
            priorities.c.is_default,
            priorities.c.active,
        ),
        select(
            literal("type"),
            ticket_types.c.id,
            ticket_types.c.name,
            literal(None, Text),
            ticket_types.c.internal,
            ticket_types.c.active,
        ),
    )
    rows: list[Any] = list((await session.execute(query)).all())
    status_map: dict[int, Status] = {}
    priority_map: dict[int, str] = {}
    type_map: dict[int, str] = {}
    internal: set[int] = set()
    inactive: dict[str, set[int]] = {"priority": set(), "type": set()}
    default_priority = 0
    for kind, row_id, name, extra, flag, active in rows:
        if kind == "status":
            status_map[int(row_id)] = Status(
                int(row_id), str(name), Category(extra), bool(flag), bool(active)
            )
            continue
        if not active:
            inactive[kind].add(int(row_id))
        if kind == "priority":
            priority_map[int(row_id)] = str(name)
            if flag:
                default_priority = int(row_id)
        else:
            type_map[int(row_id)] = str(name)
            if flag:
                internal.add(int(row_id))
    return Catalog(
        status_map,
        priority_map,
        type_map,
        frozenset(internal),
        default_priority,
        frozenset(inactive["priority"]),
        frozenset(inactive["type"]),
    )


async def ticket_is_internal(session: AsyncSession, type_id: int | None) -> bool:
    if type_id is None:
        return False
    found = await session.scalar(
        select(ticket_types.c.internal).where(ticket_types.c.id == type_id)
    )
    return bool(found)
