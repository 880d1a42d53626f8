"""Statements of the collaboration features: escalations, similar tickets, ratings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, literal, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models_collab import escalations
from .models_org import agents, groups
from .repository import contacts, identities, tickets

# Identity kinds that say two contacts are one person.
SHARED_KINDS = ("email", "phone")


async def open_escalation(session: AsyncSession, ticket_id: int) -> dict[str, Any] | None:
    """The ticket's escalation not yet returned (locked), if any."""
    row = await session.execute(
        select(escalations)
        .where(escalations.c.ticket_id == ticket_id, escalations.c.returned_at.is_(None))
        .with_for_update()
    )
    found = row.mappings().first()
    return dict(found) if found else None


async def insert_escalation(session: AsyncSession, values: dict[str, Any]) -> int:
    row = await session.execute(insert(escalations).values(**values).returning(escalations.c.id))
    return int(row.scalar_one())


async def mark_returned(
    session: AsyncSession, escalation_id: int, agent_id: int, at: datetime
) -> None:
    await session.execute(
        update(escalations)
        .where(escalations.c.id == escalation_id)
        .values(returned_at=at, returned_by=agent_id)
    )


async def group_name(session: AsyncSession, group_id: int) -> str | None:
    found = await session.scalar(select(groups.c.name).where(groups.c.id == group_id))
    return str(found) if found is not None else None


async def agent_by_id(session: AsyncSession, agent_id: int) -> dict[str, Any] | None:
    row = await session.execute(select(agents).where(agents.c.id == agent_id))
    found = row.mappings().first()
    return dict(found) if found else None


def _similar_contacts(contact_id: int) -> Any:
    """Contacts sharing an email address or phone number with the given one (itself too),
    through identities or the contact's own email/phone columns."""
    own_identities = select(identities.c.value).where(
        identities.c.contact_id == contact_id, identities.c.kind.in_(SHARED_KINDS)
    )
    own_columns = select(func.lower(contacts.c.email)).where(contacts.c.id == contact_id)
    own_phone = select(contacts.c.phone).where(contacts.c.id == contact_id)
    values = union(own_identities, own_columns, own_phone).subquery()
    via_identity = select(identities.c.contact_id).where(
        identities.c.kind.in_(SHARED_KINDS), identities.c.value.in_(select(values.c[0]))
    )
    via_columns = select(contacts.c.id).where(
        or_(
            func.lower(contacts.c.email).in_(select(values.c[0])),
            contacts.c.phone.in_(select(values.c[0])),
        )
    )
    return union(via_identity, via_columns, select(literal(contact_id, contacts.c.id.type)))


async def similar_tickets(
    session: AsyncSession, ticket: dict[str, Any], limit: int, offset: int
) -> tuple[int, list[int]]:
    """Ids of the other tickets of contacts that share an address or number with this
    ticket's contact, newest first."""
    if ticket["contact_id"] is None:
        return 0, []
    people = _similar_contacts(int(ticket["contact_id"])).subquery()
    where = [tickets.c.contact_id.in_(select(people.c[0])), tickets.c.id != ticket["id"]]
    total = await session.scalar(select(func.count()).select_from(tickets).where(*where))
    rows = await session.execute(
        select(tickets.c.id)
        .where(*where)
        .order_by(tickets.c.created_at.desc(), tickets.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return int(total or 0), [int(r[0]) for r in rows]


async def set_rating(
    session: AsyncSession, ticket_id: int, values: dict[str, Any], at: datetime
) -> None:
    await session.execute(
        update(tickets).where(tickets.c.id == ticket_id).values(**values, rated_at=at)
    )
