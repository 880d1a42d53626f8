"""Persistence and audit of the ticket fields routing adds: the service object a ticket is
for and its custom attributes (definitions here, rules in ``custom_attributes``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .audit import FieldChange
from .custom_attributes import AttributeDef, visible
from .models_org import agents
from .models_routing import attribute_definitions, service_objects


async def service_object_exists(session: AsyncSession, object_id: int) -> bool:
    found = await session.scalar(
        select(service_objects.c.id).where(service_objects.c.id == object_id)
    )
    return found is not None


async def load_definitions(session: AsyncSession) -> dict[str, AttributeDef]:
    rows = await session.execute(select(attribute_definitions))
    return {str(r["key"]): AttributeDef.from_row(dict(r)) for r in rows.mappings()}


def attribute_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FieldChange]:
    """One audit change per attribute key that differs, as ``custom_attributes.<key>``."""
    return [
        FieldChange(f"custom_attributes.{key}", before.get(key), after.get(key))
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]


async def role_of(session: AsyncSession, agent_id: int | None) -> str | None:
    if agent_id is None:
        return None
    found = await session.scalar(select(agents.c.role).where(agents.c.id == agent_id))
    return str(found) if found else None


class HasAttributes(Protocol):
    custom_attributes: dict[str, Any]


async def hide_attributes(
    session: AsyncSession, tickets: Iterable[HasAttributes], agent_id: int | None
) -> None:
    """Drop from each ticket the attributes the agent's role may not see (no agent named:
    keep only those every role may see)."""
    shown = list(tickets)
    if not any(t.custom_attributes for t in shown):
        return
    definitions = await load_definitions(session)
    role = await role_of(session, agent_id)
    for ticket in shown:
        ticket.custom_attributes = visible(definitions, ticket.custom_attributes, role)
