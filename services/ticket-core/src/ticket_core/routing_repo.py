"""Statements of routing: the table and settings (for the snapshot), the cards of a batch's
contacts and companies, group members, loads, round-robin state. Set-based, no rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from .channel_accounts import table as channel_accounts
from .models import TicketStatus as Category
from .models_org import agents, companies, group_members, groups
from .models_routing import round_robin, routing_rules, routing_settings, service_objects
from .models_workflow import statuses
from .repository import contacts, tickets

DEFAULT_GROUP_KEY = "default_group_id"


async def rules(session: AsyncSession, *, enabled_only: bool = False) -> list[dict[str, Any]]:
    query = select(routing_rules).order_by(routing_rules.c.position, routing_rules.c.id)
    if enabled_only:
        query = query.where(routing_rules.c.enabled)
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def default_observers(session: AsyncSession) -> list[int]:
    found = await session.scalar(
        select(routing_settings.c.default_observer_agent_ids).where(routing_settings.c.id == 1)
    )
    return [int(a) for a in found or ()]


async def set_default_observers(session: AsyncSession, agent_ids: list[int]) -> None:
    await session.execute(
        insert(routing_settings)
        .values(id=1, default_observer_agent_ids=agent_ids)
        .on_conflict_do_update(
            index_elements=[routing_settings.c.id],
            set_={"default_observer_agent_ids": agent_ids},
        )
    )


def _has_card(table: Any) -> Any:
    return or_(
        table.c.manager_agent_id.is_not(None),
        table.c.default_observer_agent_ids != [],
    )


async def cards_exist(session: AsyncSession) -> tuple[bool, bool]:
    """(some contact, some company) has a manager or default observers."""
    row = (
        await session.execute(
            select(exists().where(_has_card(contacts)), exists().where(_has_card(companies)))
        )
    ).one()
    return bool(row[0]), bool(row[1])


async def account_default_groups(session: AsyncSession) -> dict[tuple[str, str], int]:
    """(channel, account name) -> the group in the account's ``config["default_group_id"]``."""
    rows = await session.execute(
        select(
            channel_accounts.c.channel,
            channel_accounts.c.name,
            channel_accounts.c.config[DEFAULT_GROUP_KEY].astext,
        ).where(channel_accounts.c.config.has_key(DEFAULT_GROUP_KEY))
    )
    found: dict[tuple[str, str], int] = {}
    for channel, name, value in rows:
        try:
            found[(str(channel), str(name))] = int(value)
        except (TypeError, ValueError):
            continue  # not an id: the account API refuses these; ignore a stray one
    if found:  # a group deleted after it was configured is ignored, never a failed insert
        existing = set(
            await session.scalars(select(groups.c.id).where(groups.c.id.in_(found.values())))
        )
        found = {key: group for key, group in found.items() if group in existing}
    return found


async def contact_cards(
    session: AsyncSession, ids: Iterable[int]
) -> dict[int, tuple[int | None, list[int]]]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(
            contacts.c.id, contacts.c.manager_agent_id, contacts.c.default_observer_agent_ids
        ).where(contacts.c.id.in_(wanted))
    )
    return {int(i): (m, list(o or ())) for i, m, o in rows}


async def company_cards(
    session: AsyncSession, ids: Iterable[int]
) -> dict[int, tuple[int, int | None, list[int]]]:
    """company id -> (category id, manager, default observers)."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(
            companies.c.id,
            companies.c.category_id,
            companies.c.manager_agent_id,
            companies.c.default_observer_agent_ids,
        ).where(companies.c.id.in_(wanted))
    )
    return {int(i): (int(c), m, list(o or ())) for i, c, m, o in rows}


async def service_object_managers(
    session: AsyncSession, ids: Iterable[int]
) -> dict[int, int | None]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(service_objects.c.id, service_objects.c.manager_agent_id).where(
            service_objects.c.id.in_(wanted)
        )
    )
    return {int(i): m for i, m in rows}


async def active_members(session: AsyncSession, group_ids: Iterable[int]) -> dict[int, list[int]]:
    """The existing groups among ``group_ids`` (key-share locked, so none is deleted before
    this transaction ends) with their active members."""
    wanted = sorted(set(group_ids))
    if not wanted:
        return {}
    existing = await session.execute(
        select(groups.c.id)
        .where(groups.c.id.in_(wanted))
        .order_by(groups.c.id)
        .with_for_update(read=True, key_share=True)
    )
    found: dict[int, list[int]] = {int(g): [] for (g,) in existing}
    rows = await session.execute(
        select(group_members.c.group_id, group_members.c.agent_id)
        .join(agents, and_(agents.c.id == group_members.c.agent_id, agents.c.active))
        .where(group_members.c.group_id.in_(list(found)))
    )
    for group_id, agent_id in rows:
        found[int(group_id)].append(int(agent_id))
    return found


async def loads(session: AsyncSession, agent_ids: Iterable[int]) -> dict[int, int]:
    """Open and Pending tickets per agent, in statuses that count toward the load."""
    wanted = list(set(agent_ids))
    if not wanted:
        return {}
    counted = select(statuses.c.id).where(statuses.c.counts_toward_load)
    rows = await session.execute(
        select(tickets.c.responsible_agent_id, func.count())
        .where(
            tickets.c.responsible_agent_id.in_(wanted),
            tickets.c.status.in_([Category.OPEN.value, Category.PENDING.value]),
            tickets.c.status_id.in_(counted),
        )
        .group_by(tickets.c.responsible_agent_id)
    )
    return {int(a): int(n) for a, n in rows}


async def lock_round_robin(
    session: AsyncSession, group_ids: Iterable[int]
) -> dict[int, int | None]:
    """The groups' round-robin rows, created if missing and locked FOR UPDATE (group id
    order) until the transaction ends: two replicas take turns, never the same turn."""
    wanted = sorted(set(group_ids))
    if not wanted:
        return {}
    await session.execute(
        insert(round_robin).on_conflict_do_nothing(), [{"group_id": g} for g in wanted]
    )
    rows = await session.execute(
        select(round_robin.c.group_id, round_robin.c.last_agent_id)
        .where(round_robin.c.group_id.in_(wanted))
        .order_by(round_robin.c.group_id)
        .with_for_update()
    )
    return {int(g): last for g, last in rows}


async def save_round_robin(session: AsyncSession, last: Mapping[int, int | None]) -> None:
    if last:
        await session.execute(
            update(round_robin)
            .where(round_robin.c.group_id == bindparam("b_group"))
            .values(last_agent_id=bindparam("b_last")),
            [{"b_group": g, "b_last": a} for g, a in sorted(last.items())],
        )
