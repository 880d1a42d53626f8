"""The routing table over HTTP: rules (CRUD, reorder, enable/disable), the global default
observers, the routing cards of contacts and companies, and re-running routing on a
ticket. Every write is validated (unknown agent, group, type, priority, category or
attribute: 422 naming it) and drops this process's routing snapshot.

The bodies are in ``routing_schemas``, the checks in ``routing_checks``, the rule writes
(shared with the console) in ``routing_table``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import crud
from . import routing_repo as rrepo
from . import workflow_repo as wrepo
from .api_common import Limit, Offset, Page, bearer_auth, not_found
from .models_org import companies
from .models_routing import routing_rules
from .outbox import OutboxRelay
from .repository import contacts
from .routing_cache import SNAPSHOTS, load_snapshot
from .routing_checks import check_agents, unprocessable
from .routing_schemas import (
    ContactCard,
    ObserversCard,
    RouteOut,
    RuleIn,
    RuleOrder,
    RuleOut,
    RulePatch,
)
from .routing_table import remove_rule, reorder_rules, write_rule
from .routing_writer import reroute
from .settings import TicketCoreSettings
from .workflow import WorkflowError


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
                raise unprocessable(str(exc)) from exc
            if result is None:
                not_found("ticket", ticket_id)
            found, outcome = result.assignment, result.outcome
            if outcome is not None and ticket_id in outcome.failed:
                raise unprocessable(outcome.failed[ticket_id])  # rolls the attempt back
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
