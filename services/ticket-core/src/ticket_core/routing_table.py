"""The routing table's writes, shared by the REST API and the console: create or change
a rule (validated by ``routing_checks``), reorder, remove. Each drops this process's
routing snapshot."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import crud
from .api_common import not_found, refused
from .models_routing import routing_rules
from .routing import Distribution
from .routing_cache import SNAPSHOTS
from .routing_checks import check_conditions, check_rule, ids_text, unprocessable
from .routing_schemas import RuleIn, RuleOut, RulePatch


def _rule_values(body: RuleIn | RulePatch) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True, exclude={"conditions"})
    for key in ("observer_agent_ids", "observer_group_ids"):
        if values.get(key) is not None:
            values[key] = sorted(set(values[key]))
    if "distribution" in values and values["distribution"] is not None:
        values["distribution"] = Distribution(values["distribution"]).value
    return values


async def write_rule(
    sessions: async_sessionmaker[AsyncSession], rule_id: int | None, body: RuleIn | RulePatch
) -> RuleOut:
    """Create (``rule_id`` None) or change a rule, validated; drops the routing snapshot."""
    values = _rule_values(body)
    for key in ("name", "enabled", "distribution", "observer_agent_ids", "observer_group_ids"):
        if key in values and values[key] is None:
            raise unprocessable(f"{key} cannot be null")
    try:
        async with sessions() as session, session.begin():
            current: dict[str, Any] = {}
            if rule_id is not None:
                found = await crud.get(session, routing_rules, rule_id, lock=True)
                if found is None:
                    not_found("routing rule", rule_id)
                current = found
            merged = {
                "agent_id": None,
                "group_id": None,
                "distribution": Distribution.NONE.value,
                "observer_agent_ids": [],
                "observer_group_ids": [],
                **{k: current[k] for k in current if k != "id"},
                **values,
            }
            if body.conditions is not None:
                merged["conditions"] = await check_conditions(session, body.conditions)
            await check_rule(session, merged)
            if merged.get("position") is None:
                last = await session.scalar(select(func.max(routing_rules.c.position)))
                merged["position"] = int(last or 0) + 1
            merged.pop("created_at", None)
            row = (
                await crud.create(session, routing_rules, merged)
                if rule_id is None
                else await crud.change(session, routing_rules, rule_id, merged)
            )
            assert row is not None
    except IntegrityError as exc:
        refused(exc, f"routing rule {values.get('name', rule_id)!r}")
    SNAPSHOTS.invalidate()
    return RuleOut(**row)


async def reorder_rules(
    sessions: async_sessionmaker[AsyncSession], given: list[int]
) -> list[RuleOut]:
    """``given`` lists every rule once, first rule first; positions become 1..n."""
    async with sessions() as session, session.begin():
        rows = await session.execute(select(routing_rules.c.id).with_for_update())
        existing = {int(i) for (i,) in rows}
        if len(set(given)) != len(given) or set(given) != existing:
            unknown, left_out = set(given) - existing, existing - set(given)
            raise unprocessable(
                "rule_ids must list every rule exactly once"
                + (f"; unknown: {ids_text(unknown)}" if unknown else "")
                + (f"; missing: {ids_text(left_out)}" if left_out else "")
            )
        for position, rule_id in enumerate(given, start=1):
            await session.execute(
                update(routing_rules).where(routing_rules.c.id == rule_id).values(position=position)
            )
        rows = await session.execute(
            select(routing_rules).order_by(routing_rules.c.position, routing_rules.c.id)
        )
        ordered = [RuleOut(**r) for r in rows.mappings()]
    SNAPSHOTS.invalidate()
    return ordered


async def remove_rule(sessions: async_sessionmaker[AsyncSession], rule_id: int) -> None:
    async with sessions() as session, session.begin():
        if not await crud.remove(session, routing_rules, rule_id):
            not_found("routing rule", rule_id)
    SNAPSHOTS.invalidate()
