"""The routing table over HTTP: rules (CRUD, reorder, enable/disable), the global default
observers, the routing cards of contacts and companies, and re-running routing on a
ticket. Every write is validated (unknown agent, group, type, priority, category or
attribute: 422 naming it) and drops this process's routing snapshot."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response
from helpdesk_common.records import Channel
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import crud
from . import routing_repo as rrepo
from . import workflow_repo as wrepo
from .api_common import Limit, Name, Offset, Page, bearer_auth, not_found, refused
from .catalog import load_catalog
from .custom_attributes import AttributeKind
from .models_org import categories, companies
from .models_routing import routing_rules
from .outbox import OutboxRelay
from .repository import contacts
from .routing import Conditions, Distribution, InvalidRule
from .routing_cache import SNAPSHOTS, load_snapshot
from .routing_writer import reroute
from .settings import TicketCoreSettings
from .ticket_fields import load_definitions
from .workflow import WorkflowError

AgentIds = Annotated[list[int], Field(max_length=100)]
HourMinute = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM")]


class TimeWindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        min_length=1, max_length=7, description="ISO weekdays: 1 = Monday ... 7 = Sunday."
    )
    start: HourMinute
    end: HourMinute = Field(description="Before start: the window spans midnight.")
    timezone: str = Field(min_length=1, max_length=64, examples=["Europe/Moscow"])


class ConditionsIn(BaseModel):
    """Every given condition must hold; a list means "one of these"."""

    model_config = ConfigDict(extra="forbid")
    type_ids: list[int] | None = Field(default=None, max_length=100)
    priority_ids: list[int] | None = Field(default=None, max_length=100)
    channels: list[Channel] | None = Field(default=None, max_length=20)
    channel_accounts: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=100
    )
    company_category_ids: list[int] | None = Field(default=None, max_length=100)
    time_window: TimeWindowIn | None = None
    attributes: dict[str, list[str]] = Field(
        default_factory=dict, max_length=20, description="List attributes: key -> options."
    )


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    enabled: bool = True
    position: int | None = Field(default=None, ge=0, description="Default: after the last rule.")
    conditions: ConditionsIn = Field(default_factory=ConditionsIn)
    agent_id: int | None = Field(default=None, description="The responsible agent.")
    group_id: int | None = Field(default=None, description="The responsible group.")
    distribution: Distribution = Field(
        default=Distribution.NONE,
        description="Pick an agent inside group_id: round_robin or least_loaded.",
    )
    observer_agent_ids: AgentIds = Field(default_factory=list)
    observer_group_ids: AgentIds = Field(default_factory=list)


class RulePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    enabled: bool | None = None
    position: int | None = Field(default=None, ge=0)
    conditions: ConditionsIn | None = None
    agent_id: int | None = None
    group_id: int | None = None
    distribution: Distribution | None = None
    observer_agent_ids: AgentIds | None = None
    observer_group_ids: AgentIds | None = None


class RuleOut(BaseModel):
    id: int
    position: int
    enabled: bool
    name: str
    conditions: dict[str, Any]
    agent_id: int | None
    group_id: int | None
    distribution: Distribution
    observer_agent_ids: list[int]
    observer_group_ids: list[int]
    created_at: datetime


class RuleOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule_ids: list[int] = Field(min_length=1, max_length=1000, description="Every rule, in order.")


class ObserversCard(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default_observer_agent_ids: AgentIds = Field(default_factory=list)


class ContactCard(ObserversCard):
    manager_agent_id: int | None = Field(default=None, description="The responsible manager.")


class RouteOut(BaseModel):
    ticket_id: int
    routed: bool
    changed: bool
    reason: str | None = None
    source: str | None = None
    rule_id: int | None = None
    responsible_agent_id: int | None
    responsible_group_id: int | None
    observer_agent_ids: list[int]


def _unprocessable(detail: str) -> HTTPException:
    return HTTPException(status_code=422, detail=detail)


def _ids(values: Iterable[int]) -> str:
    return ", ".join(str(v) for v in sorted(values))


async def check_agents(session: AsyncSession, ids: Iterable[int]) -> None:
    wanted = set(ids)
    missing = wanted - await wrepo.active_agents(session, wanted)
    if missing:
        raise _unprocessable(f"agent(s) {_ids(missing)} do not exist or are deactivated")


async def _check_conditions(session: AsyncSession, conditions: ConditionsIn) -> dict[str, Any]:
    catalog = await load_catalog(session)
    for name, wanted, known in (
        ("ticket type", conditions.type_ids, catalog.types),
        ("priority", conditions.priority_ids, catalog.priorities),
    ):
        missing = set(wanted or ()) - set(known)
        if missing:
            raise _unprocessable(f"{name}(s) {_ids(missing)} do not exist")
    if conditions.company_category_ids:
        found = await session.execute(
            select(categories.c.id).where(categories.c.id.in_(conditions.company_category_ids))
        )
        missing = set(conditions.company_category_ids) - {int(i) for (i,) in found}
        if missing:
            raise _unprocessable(f"company category(ies) {_ids(missing)} do not exist")
    if conditions.attributes:
        definitions = await load_definitions(session)
        for key, options in conditions.attributes.items():
            definition = definitions.get(key)
            if definition is None or definition.kind is not AttributeKind.LIST:
                raise _unprocessable(f"attribute {key!r} is not a list attribute")
            unknown = set(options) - set(definition.options)
            if unknown or not options:
                raise _unprocessable(
                    f"attribute {key!r}: {', '.join(sorted(unknown)) or 'no option'} "
                    f"is not one of {', '.join(definition.options)}"
                )
    data = conditions.model_dump(mode="json", exclude_none=True)
    try:
        return Conditions.from_json(data).to_json()  # normalised (sorted, deduplicated)
    except InvalidRule as exc:
        raise _unprocessable(str(exc)) from exc


async def _check_rule(session: AsyncSession, rule: dict[str, Any]) -> None:
    distribution = Distribution(rule["distribution"])
    group, agent = rule["group_id"], rule["agent_id"]
    if distribution is not Distribution.NONE and group is None:
        raise _unprocessable(f"{distribution.value} distributes inside a group: give group_id")
    if distribution is not Distribution.NONE and agent is not None:
        raise _unprocessable("give either agent_id or a distribution, not both")
    await check_agents(session, {agent, *rule["observer_agent_ids"]} - {None})
    groups = {group, *rule["observer_group_ids"]} - {None}
    missing = groups - await wrepo.existing_groups(session, groups)
    if missing:
        raise _unprocessable(f"group(s) {_ids(missing)} do not exist")
    if agent is not None and group is not None:
        if not await wrepo.memberships(session, [(agent, group)]):
            raise _unprocessable(f"agent {agent} is not a member of group {group}")


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
            raise _unprocessable(f"{key} cannot be null")
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
                merged["conditions"] = await _check_conditions(session, body.conditions)
            await _check_rule(session, merged)
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
            raise _unprocessable(
                "rule_ids must list every rule exactly once"
                + (f"; unknown: {_ids(unknown)}" if unknown else "")
                + (f"; missing: {_ids(left_out)}" if left_out else "")
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


def routing_router(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1", tags=["routing"], dependencies=[Depends(bearer_auth(settings))]
    )
    auto_close_after = timedelta(seconds=settings.auto_close_after_seconds)

    @router.get("/routing/rules", response_model=Page[RuleOut], summary="The routing table")
    async def list_rules(limit: Limit = 50, offset: Offset = 0) -> Page[RuleOut]:
        async with sessions() as session:
            total, rows = await crud.page(
                session,
                routing_rules,
                order_by=[routing_rules.c.position, routing_rules.c.id],
                limit=limit,
                offset=offset,
            )
        return Page(total=total, items=[RuleOut(**r) for r in rows])

    @router.get("/routing/rules/{rule_id}", response_model=RuleOut)
    async def get_rule(rule_id: int) -> RuleOut:
        async with sessions() as session:
            row = await crud.get(session, routing_rules, rule_id)
        if row is None:
            not_found("routing rule", rule_id)
        return RuleOut(**row)

    @router.post("/routing/rules", response_model=RuleOut, status_code=201)
    async def create_rule(body: RuleIn) -> RuleOut:
        return await write_rule(sessions, None, body)

    @router.patch("/routing/rules/{rule_id}", response_model=RuleOut)
    async def patch_rule(rule_id: int, body: RulePatch) -> RuleOut:
        return await write_rule(sessions, rule_id, body)

    @router.post("/routing/rules/{rule_id}/enable", response_model=RuleOut)
    async def enable_rule(rule_id: int) -> RuleOut:
        return await write_rule(sessions, rule_id, RulePatch(enabled=True))

    @router.post("/routing/rules/{rule_id}/disable", response_model=RuleOut)
    async def disable_rule(rule_id: int) -> RuleOut:
        return await write_rule(sessions, rule_id, RulePatch(enabled=False))

    @router.delete("/routing/rules/{rule_id}", status_code=204)
    async def delete_rule(rule_id: int) -> Response:
        await remove_rule(sessions, rule_id)
        return Response(status_code=204)

    @router.put("/routing/rules-order", response_model=list[RuleOut], summary="Reorder rules")
    async def reorder(body: RuleOrder) -> list[RuleOut]:
        """``rule_ids`` lists every rule once, first rule first; positions become 1..n."""
        return await reorder_rules(sessions, body.rule_ids)

    @router.get("/routing/settings", response_model=ObserversCard)
    async def get_settings() -> ObserversCard:
        async with sessions() as session:
            observers = await rrepo.default_observers(session)
        return ObserversCard(default_observer_agent_ids=observers)

    @router.put("/routing/settings", response_model=ObserversCard)
    async def put_settings(body: ObserversCard) -> ObserversCard:
        """Agents who observe every routed ticket."""
        observers = sorted(set(body.default_observer_agent_ids))
        async with sessions() as session, session.begin():
            await check_agents(session, observers)
            await rrepo.set_default_observers(session, observers)
        SNAPSHOTS.invalidate()
        return ObserversCard(default_observer_agent_ids=observers)

    async def card(table: Any, what: str, row_id: int, values: dict[str, Any] | None) -> Any:
        async with sessions() as session, session.begin():
            if values is not None:
                await check_agents(
                    session,
                    {values.get("manager_agent_id"), *values["default_observer_agent_ids"]}
                    - {None},
                )
                row = await crud.change(session, table, row_id, values)
            else:
                row = await crud.get(session, table, row_id)
            if row is None:
                not_found(what, row_id)
        if values is not None:
            SNAPSHOTS.invalidate()
        return row

    @router.get("/contacts/{contact_id}/routing", response_model=ContactCard)
    async def get_contact_card(contact_id: int) -> ContactCard:
        row = await card(contacts, "contact", contact_id, None)
        return ContactCard(**{k: row[k] for k in ContactCard.model_fields})

    @router.put("/contacts/{contact_id}/routing", response_model=ContactCard)
    async def put_contact_card(contact_id: int, body: ContactCard) -> ContactCard:
        """The contact's responsible manager and default observers."""
        values = body.model_dump()
        values["default_observer_agent_ids"] = sorted(set(values["default_observer_agent_ids"]))
        row = await card(contacts, "contact", contact_id, values)
        return ContactCard(**{k: row[k] for k in ContactCard.model_fields})

    @router.get("/companies/{company_id}/routing", response_model=ObserversCard)
    async def get_company_card(company_id: int) -> ObserversCard:
        row = await card(companies, "company", company_id, None)
        return ObserversCard(default_observer_agent_ids=row["default_observer_agent_ids"])

    @router.put("/companies/{company_id}/routing", response_model=ObserversCard)
    async def put_company_card(company_id: int, body: ObserversCard) -> ObserversCard:
        """The company's default observers (its manager is set on the company itself)."""
        observers = sorted(set(body.default_observer_agent_ids))
        row = await card(
            companies, "company", company_id, {"default_observer_agent_ids": observers}
        )
        return ObserversCard(default_observer_agent_ids=row["default_observer_agent_ids"])

    @router.post("/tickets/{ticket_id}/route", response_model=RouteOut)
    async def route_ticket(ticket_id: int) -> RouteOut:
        """Run routing on the ticket again (the table as it is now). Changes are audited
        by ``system`` with the rule's name as the reason; observers are added."""
        async with sessions() as session, session.begin():
            try:
                result = await reroute(
                    session,
                    ticket_id,
                    await load_snapshot(session),
                    now=datetime.now(UTC),
                    auto_close_after=auto_close_after,
                )
            except WorkflowError as exc:
                raise _unprocessable(str(exc)) from exc
            if result is None:
                not_found("ticket", ticket_id)
            found, outcome = result.assignment, result.outcome
            if outcome is not None and ticket_id in outcome.failed:
                raise _unprocessable(outcome.failed[ticket_id])  # rolls the attempt back
            ticket = (await wrepo.lock_tickets(session, [ticket_id]))[ticket_id]
            agents, _ = (await wrepo.observers_of(session, [ticket_id]))[ticket_id]
        relay.notify()
        return RouteOut(
            ticket_id=ticket_id,
            routed=found is not None,
            changed=bool(outcome and ticket_id in outcome.updated),
            reason=found.reason if found else None,
            source=found.source if found else None,
            rule_id=found.rule_id if found else None,
            responsible_agent_id=ticket["responsible_agent_id"],
            responsible_group_id=ticket["responsible_group_id"],
            observer_agent_ids=sorted(agents),
        )

    return router
