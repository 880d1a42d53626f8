"""Triggers over HTTP: CRUD, order, enable/disable, and the firings of a ticket.

Conditions and actions are validated when written: an unknown field, operator or action,
a malformed value, an unknown status, priority, type, agent or group is a 422 naming it.
New triggers go to the end of the order; ``PUT /triggers/order`` sets the whole order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import DateTime, Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import crud
from . import repository as repo
from . import triggers_repo as trepo
from .api_common import Limit, Name, Offset, Page, bearer_auth, not_found, refused
from .models_triggers import firings, triggers
from .settings import TicketCoreSettings
from .trigger_actions import ActionError, ActionList, dump_actions, parse_actions
from .trigger_conditions import ConditionError, parse
from .trigger_executor import check_references

TriggerEvent = Literal[
    "ticket.created",
    "customer.message",
    "agent.reply",
    "status.changed",
    "field.changed",
    "sla.warning",
    "sla.breached",
    "time",
]
Hours = Annotated[float, Field(gt=0, le=24 * 365)]
_CONDITIONS_DOC = (
    'JSON condition: {"all": [...]}, {"any": [...]} or {"field": "ticket.status_id", '
    '"op": "eq", "value": 3}; operators eq, ne, in, not_in, contains, gt, lt, is_set.'
)


class TriggerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    event: TriggerEvent
    conditions: dict[str, Any] = Field(
        default_factory=lambda: {"all": []}, description=_CONDITIONS_DOC
    )
    actions: ActionList
    enabled: bool = True
    time_anchor: str | None = Field(
        default=None, description="Time triggers: the ticket timestamp the delay counts from."
    )
    time_after_hours: Hours | None = Field(
        default=None, description="Time triggers: hours after the anchor."
    )


class TriggerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    event: TriggerEvent | None = None
    conditions: dict[str, Any] | None = Field(default=None, description=_CONDITIONS_DOC)
    actions: ActionList | None = None
    enabled: bool | None = None
    time_anchor: str | None = None
    time_after_hours: Hours | None = None


class TriggerOut(BaseModel):
    id: int
    name: str
    event: str
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    position: int
    enabled: bool
    time_anchor: str | None
    time_after_hours: float | None
    created_at: datetime
    updated_at: datetime


class TriggerOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[int] = Field(min_length=1, max_length=10_000, description="Every trigger, in order.")


class FiringOut(BaseModel):
    trigger_id: int
    event_id: str
    ticket_id: int
    error: str | None
    fired_at: datetime


def _time_columns() -> set[str]:
    return {c.name for c in repo.tickets.columns if isinstance(c.type, DateTime)}


def validate_trigger(values: dict[str, Any]) -> None:
    """Conditions and the time settings of a complete trigger (422 with the reason)."""
    try:
        parse(values["conditions"])
    except ConditionError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    anchor, hours = values.get("time_anchor"), values.get("time_after_hours")
    if values["event"] == "time":
        if anchor is None or hours is None:
            raise HTTPException(
                status_code=422, detail="a time trigger needs time_anchor and time_after_hours"
            )
        if anchor not in _time_columns():
            raise HTTPException(
                status_code=422,
                detail=f"time_anchor {anchor!r} is not a ticket timestamp "
                f"(one of {', '.join(sorted(_time_columns()))})",
            )
    elif anchor is not None or hours is not None:
        raise HTTPException(
            status_code=422, detail="time_anchor and time_after_hours are for time triggers only"
        )


async def check_actions_exist(session: AsyncSession, actions: Any, stored: Any = ()) -> None:
    """422 with the reason when an action names a row that does not exist, or newly sets
    an inactive status, priority or type; ``stored``: the JSON actions of the trigger or
    macro being changed (a row they already set is kept even if switched off since)."""
    try:
        kept = parse_actions(stored) if stored else []
    except ActionError:  # stored actions were validated when written; nothing to keep then
        kept = []
    try:
        await check_references(session, actions, kept)
    except ActionError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


Sessions = async_sessionmaker[AsyncSession]


async def add_trigger(sessions: Sessions, body: TriggerIn) -> TriggerOut:
    """A new trigger at the end of the order, validated (422 with the reason)."""
    values = body.model_dump(exclude={"actions"})
    validate_trigger(values)
    try:
        async with sessions() as session, session.begin():
            await check_actions_exist(session, body.actions)
            await trepo.lock_all_triggers(session)
            row = await crud.create(
                session,
                triggers,
                {
                    **values,
                    "actions": dump_actions(body.actions),
                    "position": await trepo.next_position(session),
                },
            )
    except IntegrityError as exc:
        refused(exc, "trigger")
    return TriggerOut(**row)


async def change_trigger(
    sessions: Sessions, trigger_id: int, changes: dict[str, Any], actions: Any
) -> TriggerOut:
    """Change the given fields (and the actions when not None), validated as a whole."""
    try:
        async with sessions() as session, session.begin():
            current = await crud.get(session, triggers, trigger_id, lock=True)
            if current is None:
                not_found("trigger", trigger_id)
            merged = {**current, **changes}
            if merged["event"] != "time" and current["event"] == "time":
                for key in ("time_anchor", "time_after_hours"):  # no longer a time trigger
                    if key not in changes:
                        merged[key] = changes[key] = None
            validate_trigger(merged)
            if actions is not None:
                await check_actions_exist(session, actions, current["actions"])
                changes["actions"] = dump_actions(actions)
            changes["updated_at"] = datetime.now(UTC)
            row = await crud.change(session, triggers, trigger_id, changes)
    except IntegrityError as exc:
        refused(exc, "trigger")
    assert row is not None
    return TriggerOut(**row)


async def reorder_triggers(sessions: Sessions, ids: list[int]) -> None:
    """``ids`` lists every trigger exactly once, first to run first."""
    async with sessions() as session, session.begin():
        current = await trepo.lock_all_triggers(session)
        if len(set(ids)) != len(ids):
            raise HTTPException(status_code=422, detail="ids lists a trigger twice")
        missing, unknown = set(current) - set(ids), set(ids) - set(current)
        if unknown:
            raise HTTPException(status_code=422, detail=f"unknown trigger(s) {sorted(unknown)}")
        if missing:
            raise HTTPException(
                status_code=422, detail=f"ids must list every trigger; missing {sorted(missing)}"
            )
        await trepo.set_positions(session, ids, datetime.now(UTC))


async def delete_trigger_row(sessions: Sessions, trigger_id: int) -> None:
    async with sessions() as session, session.begin():
        if not await crud.remove(session, triggers, trigger_id):
            not_found("trigger", trigger_id)


def triggers_router(
    settings: TicketCoreSettings, sessions: async_sessionmaker[AsyncSession]
) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1", tags=["triggers"], dependencies=[Depends(bearer_auth(settings))]
    )
    table: Table = triggers

    @router.get("/triggers", response_model=Page[TriggerOut], summary="List triggers in order")
    async def list_triggers(
        event: TriggerEvent | None = None,
        enabled: bool | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[TriggerOut]:
        where = []
        if event is not None:
            where.append(table.c.event == event)
        if enabled is not None:
            where.append(table.c.enabled == enabled)
        async with sessions() as session:
            total, rows = await crud.page(
                session,
                table,
                where=where,
                order_by=[table.c.position, table.c.id],
                limit=limit,
                offset=offset,
            )
        return Page(total=total, items=[TriggerOut(**r) for r in rows])

    @router.post("/triggers", response_model=TriggerOut, status_code=201)
    async def create_trigger(body: TriggerIn) -> TriggerOut:
        return await add_trigger(sessions, body)

    @router.get("/triggers/{trigger_id}", response_model=TriggerOut)
    async def get_trigger(trigger_id: int) -> TriggerOut:
        async with sessions() as session:
            row = await crud.get(session, table, trigger_id)
        if row is None:
            not_found("trigger", trigger_id)
        return TriggerOut(**row)

    async def _change(trigger_id: int, changes: dict[str, Any], actions: Any) -> TriggerOut:
        return await change_trigger(sessions, trigger_id, changes, actions)

    @router.patch("/triggers/{trigger_id}", response_model=TriggerOut)
    async def patch_trigger(trigger_id: int, body: TriggerPatch) -> TriggerOut:
        """Only the fields given change."""
        changes = body.model_dump(exclude_unset=True, exclude={"actions"})
        for name in ("name", "event", "conditions", "enabled", "actions"):
            if name in body.model_fields_set and getattr(body, name) is None:
                raise HTTPException(status_code=422, detail=f"{name} cannot be null")
        return await _change(trigger_id, changes, body.actions)

    @router.post("/triggers/{trigger_id}/enable", response_model=TriggerOut)
    async def enable_trigger(trigger_id: int) -> TriggerOut:
        return await _change(trigger_id, {"enabled": True}, None)

    @router.post("/triggers/{trigger_id}/disable", response_model=TriggerOut)
    async def disable_trigger(trigger_id: int) -> TriggerOut:
        return await _change(trigger_id, {"enabled": False}, None)

    @router.delete("/triggers/{trigger_id}", status_code=204)
    async def delete_trigger(trigger_id: int) -> Response:
        await delete_trigger_row(sessions, trigger_id)
        return Response(status_code=204)

    @router.put("/triggers/order", response_model=TriggerOrder, summary="Reorder triggers")
    async def reorder(body: TriggerOrder) -> TriggerOrder:
        """``ids`` lists every trigger exactly once, first to run first."""
        await reorder_triggers(sessions, body.ids)
        return TriggerOrder(ids=body.ids)

    @router.get("/tickets/{ticket_id}/trigger-firings", response_model=Page[FiringOut])
    async def ticket_firings(
        ticket_id: int, limit: Limit = 50, offset: Offset = 0
    ) -> Page[FiringOut]:
        """The triggers that fired on the ticket's events, oldest first (with refusals)."""
        async with sessions() as session:
            if await repo.ticket_by_id(session, ticket_id) is None:
                not_found("ticket", ticket_id)
            total, rows = await crud.page(
                session,
                firings,
                where=[firings.c.ticket_id == ticket_id],
                order_by=[firings.c.fired_at, firings.c.trigger_id],
                limit=limit,
                offset=offset,
            )
        return Page(total=total, items=[FiringOut(**r) for r in rows])

    return router
