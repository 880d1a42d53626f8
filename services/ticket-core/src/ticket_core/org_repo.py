"""Statements about the organisation: company domains, agents' workload, group members."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import TicketStatus as Category
from .models_org import agents, company_domains, group_members
from .repository import any_of, contacts, tickets

# Tickets in these categories still need their responsible agent.
UNFINISHED = (Category.OPEN.value, Category.PENDING.value)


async def companies_by_domain(session: AsyncSession, domains: Iterable[str]) -> dict[str, int]:
    wanted = list(set(domains))
    if not wanted:
        return {}
    rows = await session.execute(
        select(company_domains.c.domain, company_domains.c.company_id).where(
            any_of(company_domains.c.domain, wanted)
        )
    )
    return {str(d): int(c) for d, c in rows}


async def domains_of(session: AsyncSession, company_ids: Iterable[int]) -> dict[int, list[str]]:
    wanted = list(set(company_ids))
    found: dict[int, list[str]] = {c: [] for c in wanted}
    if wanted:
        rows = await session.execute(
            select(company_domains.c.company_id, company_domains.c.domain)
            .where(company_domains.c.company_id.in_(wanted))
            .order_by(company_domains.c.domain)
        )
        for company_id, domain in rows:
            found[int(company_id)].append(str(domain))
    return found


async def set_domains(session: AsyncSession, company_id: int, domains: Sequence[str]) -> None:
    """Replace the company's domains; contacts at them that have no company join it, with
    their tickets that have none."""
    await session.execute(delete(company_domains).where(company_domains.c.company_id == company_id))
    if not domains:
        return
    await session.execute(
        insert(company_domains), [{"domain": d, "company_id": company_id} for d in domains]
    )
    domain = func.lower(func.split_part(contacts.c.email, "@", 2))
    linked = await session.execute(
        update(contacts)
        .where(contacts.c.company_id.is_(None), domain.in_(list(domains)))
        .values(company_id=company_id)
        .returning(contacts.c.id)
    )
    contact_ids = [int(c) for (c,) in linked]
    if contact_ids:
        await session.execute(
            update(tickets)
            .where(tickets.c.contact_id.in_(contact_ids), tickets.c.company_id.is_(None))
            .values(company_id=company_id)
        )


async def lock_agent(session: AsyncSession, agent_id: int) -> dict[str, Any] | None:
    row = await session.execute(select(agents).where(agents.c.id == agent_id).with_for_update())
    found = row.mappings().first()
    return dict(found) if found else None


async def unfinished_tickets_of(
    session: AsyncSession, agent_id: int, limit: int = 5
) -> tuple[int, list[int]]:
    """How many Open/Pending tickets the agent is responsible for, and a few of their numbers."""
    where = (tickets.c.responsible_agent_id == agent_id, tickets.c.status.in_(UNFINISHED))
    count = await session.scalar(select(func.count()).select_from(tickets).where(*where))
    numbers = await session.execute(
        select(tickets.c.number).where(*where).order_by(tickets.c.number).limit(limit)
    )
    return int(count or 0), [int(n) for (n,) in numbers]


async def members_of(session: AsyncSession, group_ids: Iterable[int]) -> dict[int, list[int]]:
    wanted = list(set(group_ids))
    found: dict[int, list[int]] = {g: [] for g in wanted}
    if wanted:
        rows = await session.execute(
            select(group_members.c.group_id, group_members.c.agent_id)
            .where(group_members.c.group_id.in_(wanted))
            .order_by(group_members.c.agent_id)
        )
        for group_id, agent_id in rows:
            found[int(group_id)].append(int(agent_id))
    return found


async def set_members(session: AsyncSession, group_id: int, agent_ids: Sequence[int]) -> None:
    await session.execute(delete(group_members).where(group_members.c.group_id == group_id))
    if agent_ids:
        await session.execute(
            insert(group_members), [{"group_id": group_id, "agent_id": a} for a in agent_ids]
        )
