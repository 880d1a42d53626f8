"""What the rule settings pages read: the rows in order and the names their forms offer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..custom_attributes import AttributeKind
from ..models_collab import canned_responses
from ..models_org import categories
from ..models_routing import routing_rules
from ..models_sla import calendars, sla_rules
from ..models_triggers import triggers
from ..models_workflow import statuses
from ..ticket_fields import load_definitions
from . import ticket_repo

ORDERED: dict[str, Table] = {"routing": routing_rules, "sla": sla_rules, "triggers": triggers}


@dataclass
class Choices:
    """Names offered by the forms (and used to summarise rules)."""

    catalogue: ticket_repo.Catalogue
    categories: list[dict[str, Any]] = field(default_factory=list)
    calendars: list[dict[str, Any]] = field(default_factory=list)
    list_attributes: dict[str, list[str]] = field(default_factory=dict)

    def names(self, kind: str) -> dict[int, str]:
        own = {"categories": self.categories, "calendars": self.calendars}
        rows = own[kind] if kind in own else getattr(self.catalogue, kind)
        return {int(r["id"]): str(r["name"]) for r in rows}


async def _rows(session: AsyncSession, query: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def choices(session: AsyncSession) -> Choices:
    definitions = await load_definitions(session)
    return Choices(
        catalogue=await ticket_repo.catalogue(session),
        categories=await _rows(
            session, select(categories.c.id, categories.c.name).order_by(categories.c.name)
        ),
        calendars=await _rows(
            session, select(calendars.c.id, calendars.c.name).order_by(calendars.c.name)
        ),
        list_attributes={
            key: list(d.options)
            for key, d in sorted(definitions.items())
            if d.kind is AttributeKind.LIST
        },
    )


async def ordered_rows(session: AsyncSession, kind: str) -> list[dict[str, Any]]:
    table = ORDERED[kind]
    return await _rows(session, select(table).order_by(table.c.position, table.c.id))


async def ordered_ids(session: AsyncSession, kind: str) -> list[int]:
    table = ORDERED[kind]
    rows = await session.execute(select(table.c.id).order_by(table.c.position, table.c.id))
    return [int(i) for (i,) in rows]


async def row(session: AsyncSession, table: Table, row_id: int) -> dict[str, Any] | None:
    found = (await session.execute(select(table).where(table.c.id == row_id))).mappings().first()
    return dict(found) if found else None


async def all_calendars(session: AsyncSession) -> list[dict[str, Any]]:
    return await _rows(session, select(calendars).order_by(calendars.c.name, calendars.c.id))


async def load_statuses(session: AsyncSession) -> list[dict[str, Any]]:
    return await _rows(
        session,
        select(
            statuses.c.id, statuses.c.name, statuses.c.category, statuses.c.counts_toward_load
        ).order_by(statuses.c.position, statuses.c.id),
    )


async def canned_list(session: AsyncSession) -> list[dict[str, Any]]:
    table = canned_responses
    return await _rows(
        session,
        select(table)
        .order_by(table.c.group_id.nulls_first(), table.c.title, table.c.id)
        .limit(1000),
    )
