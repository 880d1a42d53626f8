"""Service calendars and SLA rules over HTTP.

Every write is validated with the domain package (``ticket_core.sla``): an unknown IANA
timezone, malformed or overlapping-into-nonsense hours, a holiday with hours, a date
listed twice, a calendar without any weekly working time, a target that is not positive,
a warning lead not shorter than the targets, a condition naming a type, priority, company
category or company that does not exist: 422 with the reason. Rules are evaluated in
``position`` order (``POST /sla-rules/reorder`` rewrites it); a calendar still used by a
rule cannot be deleted (409). Planned times of existing tickets do not change when a
rule or calendar changes (except that a resume after Pending uses the current calendar).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Response
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import crud, sla_repo
from .api_common import Limit, Offset, Page, bearer_auth, not_found, refused
from .models_sla import calendars, sla_rules
from .settings import TicketCoreSettings
from .sla import CalendarError
from .sla.hours import normalize_hours
from .sla_schemas import (
    CalendarIn,
    CalendarOut,
    CalendarPatch,
    Reorder,
    RuleIn,
    RuleOut,
    RulePatch,
)
from .sla_tickets import WEEKDAYS, calendar_from, window_from


def _invalid(reason: str) -> HTTPException:
    return HTTPException(status_code=422, detail=reason)


def _calendar_values(values: dict[str, Any]) -> dict[str, Any]:
    """Validate a calendar's (merged) values and return them in stored form."""
    hours = {
        d: ", ".join(str(h) for h in _hours(d, values["working_hours"].get(d, "")))
        for d in WEEKDAYS
    }
    days = [
        {
            "date": str(e["date"]),
            "kind": e["kind"],
            "hours": ", ".join(str(h) for h in _hours(str(e["date"]), e.get("hours") or "")),
        }
        for e in values["exception_days"]
    ]
    try:
        calendar = calendar_from(values["timezone"], hours, days)
    except CalendarError as exc:
        raise _invalid(str(exc)) from exc
    if not any(calendar.weekly):
        raise _invalid("a calendar needs working hours on at least one weekday")
    return {**values, "working_hours": hours, "exception_days": days}


def _hours(where: str, text: str) -> Any:
    try:
        return normalize_hours(text)
    except CalendarError as exc:
        raise _invalid(f"{where}: {exc}") from exc


async def _rule_values(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any]:
    """Validate a rule's (merged) values against the domain and the referenced rows."""
    if values["warning_minutes"] >= min(values["reaction_minutes"], values["resolution_minutes"]):
        raise _invalid("warning_minutes must be shorter than the reaction and resolution targets")
    for window in values["registered_within"]:
        try:
            window_from(window)
        except (CalendarError, ValueError) as exc:
            raise _invalid(f"registered_within: {exc}") from exc
    if await crud.get(session, calendars, values["calendar_id"]) is None:
        raise _invalid(f"calendar {values['calendar_id']} does not exist")
    for column, table, what in sla_repo.REFERENCED:
        missing = await sla_repo.missing_ids(session, table, values[column])
        if missing:
            raise _invalid(f"{what}(s) {', '.join(map(str, missing))} do not exist")
        values[column] = sorted(set(values[column]))
    return values


Sessions = async_sessionmaker[AsyncSession]


async def add_calendar(sessions: Sessions, body: CalendarIn) -> CalendarOut:
    values = _calendar_values(body.model_dump(mode="json"))
    try:
        async with sessions() as session, session.begin():
            return CalendarOut(**await crud.create(session, calendars, values))
    except IntegrityError as exc:
        refused(exc, f"calendar {body.name!r}")


async def change_calendar(sessions: Sessions, calendar_id: int, body: CalendarPatch) -> CalendarOut:
    given = body.model_dump(mode="json", exclude_unset=True)
    for name in ("name", "timezone", "working_hours", "exception_days"):
        if name in given and given[name] is None:
            raise _invalid(f"{name} cannot be null")
    try:
        async with sessions() as session, session.begin():
            current = await crud.get(session, calendars, calendar_id, lock=True)
            if current is None:
                not_found("calendar", calendar_id)
            merged = _calendar_values(
                {
                    "name": current["name"],
                    "timezone": current["timezone"],
                    "working_hours": current["working_hours"],
                    "exception_days": current["exception_days"],
                    **given,
                }
            )
            merged["updated_at"] = func.now()
            row = await crud.change(session, calendars, calendar_id, merged)
            assert row is not None
            return CalendarOut(**row)
    except IntegrityError as exc:
        refused(exc, f"calendar {given.get('name', calendar_id)!r}")


async def add_rule(sessions: Sessions, body: RuleIn) -> RuleOut:
    values = body.model_dump(mode="json")
    try:
        async with sessions() as session, session.begin():
            values = await _rule_values(session, values)
            if values["position"] is None:
                values["position"] = await sla_repo.next_position(session)
            return RuleOut(**await crud.create(session, sla_rules, values))
    except IntegrityError as exc:
        refused(exc, f"SLA rule {body.name!r}")


async def change_sla_rule(sessions: Sessions, rule_id: int, given: dict[str, Any]) -> RuleOut:
    """Change the given fields of a rule (validated as a whole)."""
    for name, value in given.items():
        if value is None:
            raise _invalid(f"{name} cannot be null")
    try:
        async with sessions() as session, session.begin():
            current = await crud.get(session, sla_rules, rule_id, lock=True)
            if current is None:
                not_found("SLA rule", rule_id)
            merged = await _rule_values(session, {**current, **given})
            changes = {k: merged[k] for k in given}
            row = await crud.change(session, sla_rules, rule_id, changes)
            assert row is not None
            return RuleOut(**row)
    except IntegrityError as exc:
        refused(exc, f"SLA rule {given.get('name', rule_id)!r}")


async def reorder_sla_rules(sessions: Sessions, rule_ids: list[int]) -> list[RuleOut]:
    """Positions 0, 1, 2... in the order given; the list must name every rule once."""
    async with sessions() as session, session.begin():
        existing = await sla_repo.rule_ids_locked(session)
        twice = sorted(i for i, n in Counter(rule_ids).items() if n > 1)
        unknown = sorted(set(rule_ids) - set(existing))
        listed = set(rule_ids)
        missing = [i for i in existing if i not in listed]
        for problem, ids in (
            ("listed twice", twice),
            ("unknown", unknown),
            ("missing", missing),
        ):
            if ids:
                raise _invalid(f"rule_ids must list every rule once: {problem}: {ids}")
        await sla_repo.set_positions(session, rule_ids)
        _, rows = await crud.page(
            session,
            sla_rules,
            order_by=[sla_rules.c.position, sla_rules.c.id],
            limit=len(existing),
            offset=0,
        )
    return [RuleOut(**r) for r in rows]


async def remove_calendar(sessions: Sessions, calendar_id: int) -> None:
    """Delete a calendar; 409 while a rule uses it."""
    try:
        async with sessions() as session, session.begin():
            if not await crud.remove(session, calendars, calendar_id):
                not_found("calendar", calendar_id)
    except IntegrityError as exc:
        refused(exc, f"calendar {calendar_id}")


async def remove_sla_rule(sessions: Sessions, rule_id: int) -> None:
    """Tickets keep their planned times; their ``sla_rule_id`` becomes null."""
    async with sessions() as session, session.begin():
        if not await crud.remove(session, sla_rules, rule_id):
            not_found("SLA rule", rule_id)


def sla_router(
    settings: TicketCoreSettings, sessions: async_sessionmaker[AsyncSession]
) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1", tags=["sla"], dependencies=[Depends(bearer_auth(settings))]
    )

    # -- calendars ------------------------------------------------------------------------

    @router.get("/service-calendars", response_model=Page[CalendarOut])
    async def list_calendars(limit: Limit = 50, offset: Offset = 0) -> Page[CalendarOut]:
        async with sessions() as session:
            total, rows = await crud.page(
                session, calendars, order_by=[calendars.c.name], limit=limit, offset=offset
            )
        return Page(total=total, items=[CalendarOut(**r) for r in rows])

    @router.get("/service-calendars/{calendar_id}", response_model=CalendarOut)
    async def get_calendar(calendar_id: int) -> CalendarOut:
        async with sessions() as session:
            row = await crud.get(session, calendars, calendar_id)
        if row is None:
            not_found("calendar", calendar_id)
        return CalendarOut(**row)

    @router.post("/service-calendars", response_model=CalendarOut, status_code=201)
    async def create_calendar(body: CalendarIn) -> CalendarOut:
        return await add_calendar(sessions, body)

    @router.patch("/service-calendars/{calendar_id}", response_model=CalendarOut)
    async def patch_calendar(calendar_id: int, body: CalendarPatch) -> CalendarOut:
        return await change_calendar(sessions, calendar_id, body)

    @router.delete("/service-calendars/{calendar_id}", status_code=204)
    async def delete_calendar(calendar_id: int) -> Response:
        await remove_calendar(sessions, calendar_id)
        return Response(status_code=204)

    # -- rules ----------------------------------------------------------------------------

    @router.get("/sla-rules", response_model=Page[RuleOut], summary="List SLA rules in order")
    async def list_rules(limit: Limit = 50, offset: Offset = 0) -> Page[RuleOut]:
        async with sessions() as session:
            total, rows = await crud.page(
                session,
                sla_rules,
                order_by=[sla_rules.c.position, sla_rules.c.id],
                limit=limit,
                offset=offset,
            )
        return Page(total=total, items=[RuleOut(**r) for r in rows])

    @router.get("/sla-rules/{rule_id}", response_model=RuleOut)
    async def get_rule(rule_id: int) -> RuleOut:
        async with sessions() as session:
            row = await crud.get(session, sla_rules, rule_id)
        if row is None:
            not_found("SLA rule", rule_id)
        return RuleOut(**row)

    @router.post("/sla-rules", response_model=RuleOut, status_code=201)
    async def create_rule(body: RuleIn) -> RuleOut:
        return await add_rule(sessions, body)

    async def change_rule(rule_id: int, given: dict[str, Any]) -> RuleOut:
        return await change_sla_rule(sessions, rule_id, given)

    @router.patch("/sla-rules/{rule_id}", response_model=RuleOut)
    async def patch_rule(rule_id: int, body: RulePatch) -> RuleOut:
        return await change_rule(rule_id, body.model_dump(mode="json", exclude_unset=True))

    @router.post("/sla-rules/{rule_id}/enable", response_model=RuleOut)
    async def enable_rule(rule_id: int) -> RuleOut:
        return await change_rule(rule_id, {"enabled": True})

    @router.post("/sla-rules/{rule_id}/disable", response_model=RuleOut)
    async def disable_rule(rule_id: int) -> RuleOut:
        return await change_rule(rule_id, {"enabled": False})

    @router.post("/sla-rules/reorder", response_model=list[RuleOut])
    async def reorder_rules(body: Reorder) -> list[RuleOut]:
        """Positions 0, 1, 2... in the order given; the list must name every rule once."""
        return await reorder_sla_rules(sessions, body.rule_ids)

    @router.delete("/sla-rules/{rule_id}", status_code=204)
    async def delete_rule(rule_id: int) -> Response:
        """Tickets keep their planned times; their ``sla_rule_id`` becomes null."""
        await remove_sla_rule(sessions, rule_id)
        return Response(status_code=204)

    return router
