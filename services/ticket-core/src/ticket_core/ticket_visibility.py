"""Which tickets concern an agent: the specialist's visibility rule, and the audience a
ticket's pushes go to. SQL only (no rules about roles: those are in ``access``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from .models_links import ticket_links
from .models_org import agents, group_members
from .models_workflow import observer_agents, observer_groups
from .repository import messages, tickets


def visible_to(agent_id: int, table: Any = tickets) -> Any:
    """A WHERE clause on ``tickets`` (or an alias of it): the agent is responsible, in the
    responsible group, an observer (directly or through a group), or wrote a message on
    the ticket. What a specialist may change."""
    t = table.c
    my_groups = select(group_members.c.group_id).where(group_members.c.agent_id == agent_id)
    return or_(
        t.responsible_agent_id == agent_id,
        t.responsible_group_id.in_(my_groups),
        exists().where(observer_agents.c.ticket_id == t.id, observer_agents.c.agent_id == agent_id),
        exists().where(
            observer_groups.c.ticket_id == t.id, observer_groups.c.group_id.in_(my_groups)
        ),
        exists().where(messages.c.ticket_id == t.id, messages.c.author_agent_id == agent_id),
    )


def readable_by(agent_id: int) -> Any:
    """A WHERE clause on ``tickets``: ``visible_to``, or linked to a ticket that is (one
    hop, either direction: ``ticket_links`` and the follow-up / possible-duplicate
    columns). What a specialist may read."""
    t = tickets.c
    seen = tickets.alias("seen_ticket")
    links = ticket_links.c

    def visible(ticket_id: Any) -> Any:
        return exists().where(seen.c.id == ticket_id, visible_to(agent_id, seen))

    return or_(
        visible_to(agent_id),
        exists().where(links.ticket_id == t.id, visible(links.linked_ticket_id)),
        exists().where(links.linked_ticket_id == t.id, visible(links.ticket_id)),
        visible(t.follow_up_of_id),
        visible(t.possible_duplicate_of_id),
        exists().where(
            or_(seen.c.follow_up_of_id == t.id, seen.c.possible_duplicate_of_id == t.id),
            visible_to(agent_id, seen),
        ),
    )


async def can_read(session: AsyncSession, agent_id: int, ticket_id: int) -> bool:
    found = await session.scalar(
        select(tickets.c.id).where(tickets.c.id == ticket_id, readable_by(agent_id))
    )
    return found is not None


async def readable_ids(session: AsyncSession, agent_id: int, ticket_ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(ticket_ids))
    if not wanted:
        return set()
    rows = await session.execute(
        select(tickets.c.id).where(tickets.c.id.in_(wanted), readable_by(agent_id))
    )
    return {int(i) for (i,) in rows}


async def can_see(session: AsyncSession, agent_id: int, ticket_id: int) -> bool:
    found = await session.scalar(
        select(tickets.c.id).where(tickets.c.id == ticket_id, visible_to(agent_id))
    )
    return found is not None


async def visible_ids(session: AsyncSession, agent_id: int, ticket_ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(ticket_ids))
    if not wanted:
        return set()
    rows = await session.execute(
        select(tickets.c.id).where(tickets.c.id.in_(wanted), visible_to(agent_id))
    )
    return {int(i) for (i,) in rows}


async def audiences(session: AsyncSession, ticket_ids: Iterable[int]) -> dict[int, list[int]]:
    """Per ticket, the active agents it concerns: responsible agent, responsible group's
    members, observing agents, observing groups' members."""
    wanted = sorted(set(ticket_ids))
    result: dict[int, list[int]] = {i: [] for i in wanted}
    if not wanted:
        return result
    t = tickets.c
    gm = group_members.c
    pairs = union(
        select(t.id.label("ticket_id"), t.responsible_agent_id.label("agent_id")).where(
            t.id.in_(wanted), t.responsible_agent_id.is_not(None)
        ),
        select(t.id, gm.agent_id)
        .join(group_members, gm.group_id == t.responsible_group_id)
        .where(t.id.in_(wanted)),
        select(observer_agents.c.ticket_id, observer_agents.c.agent_id).where(
            observer_agents.c.ticket_id.in_(wanted)
        ),
        select(observer_groups.c.ticket_id, gm.agent_id)
        .join(group_members, gm.group_id == observer_groups.c.group_id)
        .where(observer_groups.c.ticket_id.in_(wanted)),
    ).subquery()
    rows = await session.execute(
        select(pairs.c.ticket_id, pairs.c.agent_id)
        .join(agents, agents.c.id == pairs.c.agent_id)
        .where(agents.c.active.is_(True))
        .order_by(pairs.c.ticket_id, pairs.c.agent_id)
    )
    for ticket_id, agent_id in rows:
        result[int(ticket_id)].append(int(agent_id))
    return result


async def own_ticket_linked_to(session: AsyncSession, agent_id: int, ticket_id: int) -> int | None:
    """The number of a ticket that concerns the agent (``visible_to``) one link away from
    ``ticket_id`` (the reason a specialist may read it), the lowest if several; None if
    there is none."""
    t = tickets.c
    links = ticket_links.c
    this = tickets.alias("this_ticket")
    neighbours = union(
        select(links.linked_ticket_id.label("id")).where(links.ticket_id == ticket_id),
        select(links.ticket_id).where(links.linked_ticket_id == ticket_id),
        select(this.c.follow_up_of_id).where(this.c.id == ticket_id),
        select(this.c.possible_duplicate_of_id).where(this.c.id == ticket_id),
        select(t.id).where(
            or_(t.follow_up_of_id == ticket_id, t.possible_duplicate_of_id == ticket_id)
        ),
    ).subquery()
    found = await session.scalar(
        select(t.number)
        .where(t.id.in_(select(neighbours.c.id)), visible_to(agent_id))
        .order_by(t.number)
        .limit(1)
    )
    return None if found is None else int(found)
