"""Checks of a routing rule against the desk (422 naming what is wrong): agents exist and
are active, groups, ticket types, priorities, company categories and list attributes
exist, a distribution has a group, an agent belongs to the rule's group."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from . import workflow_repo as wrepo
from .catalog import load_catalog
from .custom_attributes import AttributeKind
from .models_org import categories
from .routing import Conditions, Distribution, InvalidRule
from .routing_schemas import ConditionsIn
from .ticket_fields import load_definitions


def unprocessable(detail: str) -> HTTPException:
    return HTTPException(status_code=422, detail=detail)


def ids_text(values: Iterable[int]) -> str:
    return ", ".join(str(v) for v in sorted(values))


async def check_agents(session: AsyncSession, ids: Iterable[int]) -> None:
    wanted = set(ids)
    missing = wanted - await wrepo.active_agents(session, wanted)
    if missing:
        raise unprocessable(f"agent(s) {ids_text(missing)} do not exist or are deactivated")


async def check_conditions(session: AsyncSession, conditions: ConditionsIn) -> dict[str, Any]:
    catalog = await load_catalog(session)
    for name, wanted, known in (
        ("ticket type", conditions.type_ids, catalog.types),
        ("priority", conditions.priority_ids, catalog.priorities),
    ):
        missing = set(wanted or ()) - set(known)
        if missing:
            raise unprocessable(f"{name}(s) {ids_text(missing)} do not exist")
    if conditions.company_category_ids:
        found = await session.execute(
            select(categories.c.id).where(categories.c.id.in_(conditions.company_category_ids))
        )
        missing = set(conditions.company_category_ids) - {int(i) for (i,) in found}
        if missing:
            raise unprocessable(f"company category(ies) {ids_text(missing)} do not exist")
    if conditions.attributes:
        definitions = await load_definitions(session)
        for key, options in conditions.attributes.items():
            definition = definitions.get(key)
            if definition is None or definition.kind is not AttributeKind.LIST:
                raise unprocessable(f"attribute {key!r} is not a list attribute")
            unknown = set(options) - set(definition.options)
            if unknown or not options:
                raise unprocessable(
                    f"attribute {key!r}: {', '.join(sorted(unknown)) or 'no option'} "
                    f"is not one of {', '.join(definition.options)}"
                )
    data = conditions.model_dump(mode="json", exclude_none=True)
    try:
        return Conditions.from_json(data).to_json()  # normalised (sorted, deduplicated)
    except InvalidRule as exc:
        raise unprocessable(str(exc)) from exc


async def check_rule(session: AsyncSession, rule: dict[str, Any]) -> None:
    distribution = Distribution(rule["distribution"])
    group, agent = rule["group_id"], rule["agent_id"]
    if distribution is not Distribution.NONE and group is None:
        raise unprocessable(f"{distribution.value} distributes inside a group: give group_id")
    if distribution is not Distribution.NONE and agent is not None:
        raise unprocessable("give either agent_id or a distribution, not both")
    await check_agents(session, {agent, *rule["observer_agent_ids"]} - {None})
    groups = {group, *rule["observer_group_ids"]} - {None}
    missing = groups - await wrepo.existing_groups(session, groups)
    if missing:
        raise unprocessable(f"group(s) {ids_text(missing)} do not exist")
    if agent is not None and group is not None:
        if not await wrepo.memberships(session, [(agent, group)]):
            raise unprocessable(f"agent {agent} is not a member of group {group}")
