"""What the ticket page and the inbox filters read besides the ticket itself: the
catalogue (statuses, priorities, types), agents, groups, companies, canned responses, the
authors of a thread, similar tickets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import collab_repo
from ..models_collab import canned_responses
from ..models_org import agents, companies, group_members, groups
from ..models_workflow import priorities, statuses, ticket_types
from ..repository import contacts, tickets
from ..ticket_visibility import visible_ids


@dataclass
class Catalogue:
    statuses: list[dict[str, Any]] = field(default_factory=list)
    priorities: list[dict[str, Any]] = field(default_factory=list)
    types: list[dict[str, Any]] = field(default_factory=list)
    agents: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    companies: list[dict[str, Any]] = field(default_factory=list)

    # Rows carry ``active`` (migration 0015): pickers for a new choice offer the active
    # ones (and the value a ticket has already); filters and names use every row.

    def name_of(self, kind: str, key: int | None) -> str | None:
        for row in getattr(self, kind):
            if row["id"] == key:
                return str(row["name"])
        return None


async def _rows(session: AsyncSession, query: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def catalogue(session: AsyncSession, *, with_companies: bool = True) -> Catalogue:
    return Catalogue(
        statuses=await _rows(
            session,
            select(statuses.c.id, statuses.c.name, statuses.c.category, statuses.c.active).order_by(
                statuses.c.position, statuses.c.id
            ),
        ),
        priorities=await _rows(
            session,
            select(
                priorities.c.id, priorities.c.name, priorities.c.colour, priorities.c.active
            ).order_by(priorities.c.position.desc()),
        ),
        types=await _rows(
            session,
            select(ticket_types.c.id, ticket_types.c.name, ticket_types.c.active).order_by(
                ticket_types.c.id
            ),
        ),
        agents=await _rows(
            session,
            select(agents.c.id, agents.c.name)
            .where(agents.c.active.is_(True))
            .order_by(agents.c.name, agents.c.id)
            .limit(500),
        ),
        groups=await _rows(
            session, select(groups.c.id, groups.c.name).order_by(groups.c.name).limit(500)
        ),
        companies=await _rows(
            session, select(companies.c.id, companies.c.name).order_by(companies.c.name).limit(500)
        )
        if with_companies
        else [],
    )


async def agent_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(agents.c.id, agents.c.name).where(agents.c.id.in_(ids)))
    return {int(i): str(n) for i, n in rows}


async def contact_of(session: AsyncSession, contact_id: int | None) -> dict[str, Any] | None:
    if contact_id is None:
        return None
    row = (await session.execute(select(contacts).where(contacts.c.id == contact_id))).first()
    return dict(row._mapping) if row is not None else None


async def canned_for(session: AsyncSession, agent_id: int) -> list[dict[str, Any]]:
    """Canned responses of the agent's groups and the shared ones, by category and title."""
    mine = select(group_members.c.group_id).where(group_members.c.agent_id == agent_id)
    c = canned_responses.c
    return await _rows(
        session,
        select(c.id, c.title, c.category, groups.c.name.label("group_name"))
        .outerjoin(groups, groups.c.id == c.group_id)
        .where(or_(c.group_id.is_(None), c.group_id.in_(mine)))
        .order_by(c.category.nulls_first(), c.title, c.id)
        .limit(200),
    )


async def canned_in_reach(session: AsyncSession, agent_id: int, canned_id: int) -> bool:
    return any(row["id"] == canned_id for row in await canned_for(session, agent_id))


async def similar(
    session: AsyncSession, ticket: dict[str, Any], agent_id: int, sees_all: bool
) -> list[dict[str, Any]]:
    """Up to 10 other tickets of the same email or phone the agent may see."""
    _, ids = await collab_repo.similar_tickets(session, ticket, 10, 0)
    if not sees_all:
        allowed = await visible_ids(session, agent_id, ids)
        ids = [i for i in ids if i in allowed]
    if not ids:
        return []
    rows = await _rows(
        session,
        select(tickets.c.id, tickets.c.number, tickets.c.subject, tickets.c.status).where(
            tickets.c.id.in_(ids)
        ),
    )
    order = {ticket_id: n for n, ticket_id in enumerate(ids)}
    return sorted(rows, key=lambda r: order[int(r["id"])])


async def canned_text(session: AsyncSession, canned_id: int) -> str:
    found = await session.scalar(
        select(canned_responses.c.text).where(canned_responses.c.id == canned_id)
    )
    return str(found or "")


async def rating_of(session: AsyncSession, ticket_id: int) -> dict[str, Any]:
    row = (
        await session.execute(
            select(tickets.c.rating, tickets.c.rating_comment).where(tickets.c.id == ticket_id)
        )
    ).first()
    return {"rating": row.rating, "rating_comment": row.rating_comment} if row else {}
