"""Settings: SLA rules (ordered, drag or up/down, enable/disable; type, priority, client
category, client, registration time; calendar; reaction and resolution targets) and
service calendars (hours per weekday, exception days, timezone). Writes go through
``sla_api``'s functions (the REST API's validation)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import Response

from .. import sla_api
from ..models_sla import calendars, sla_rules
from ..sla_tickets import WEEKDAYS
from . import settings_rules_forms as forms
from . import settings_rules_repo as repo
from . import settings_rules_views as views
from .forms import ConsoleError
from .kit import ConsoleKit
from .ordered_table import OrderedTable, add_order_routes
from .settings_pages import admin_form, done, notice

PATH = "/settings/sla"
CALENDARS = "/settings/calendars"
WEEKDAYS_SLA = list(enumerate(views.WEEKDAY_NAMES))  # 0 = Monday


def _page_error(exc: HTTPException) -> ConsoleError:
    return ConsoleError(status_code=exc.status_code, detail=str(exc.detail))


def sla_settings_router(kit: ConsoleKit) -> APIRouter:
    router = kit.router()

    async def ids() -> list[int]:
        async with kit.sessions() as db:
            return await repo.ordered_ids(db, "sla")

    async def save_order(order: list[int]) -> None:
        await sla_api.reorder_sla_rules(kit.sessions, order)

    async def set_enabled(rule_id: int, enabled: bool) -> None:
        await sla_api.change_sla_rule(kit.sessions, rule_id, {"enabled": enabled})

    add_order_routes(router, kit, OrderedTable(PATH, ids, save_order, set_enabled))

    # --- rules ----------------------------------------------------------------------------

    @router.get(PATH, include_in_schema=False)
    async def table(request: Request) -> Response:
        agent = await kit.administrator(request)
        async with kit.sessions() as db:
            rules = await repo.ordered_rows(db, "sla")
            choices = await repo.choices(db)
        rows = [
            {
                "id": r["id"],
                "name": r["name"],
                "enabled": r["enabled"],
                "cells": [views.sla_conditions(r, choices), views.sla_targets(r, choices)],
            }
            for r in rules
        ]
        context = {"rows": rows, "path": PATH, "calendars_path": CALENDARS, "done": notice(request)}
        return kit.page(request, "settings_rules/sla.html", context, agent)

    async def rule_editor(
        request: Request,
        rule_id: int | None,
        values: forms.FormValues,
        error: HTTPException | None = None,
    ) -> Response:
        agent = await kit.administrator(request)
        async with kit.sessions() as db:
            choices = await repo.choices(db)
        context: dict[str, Any] = {
            "rule_id": rule_id,
            "v": values,
            "choices": choices,
            "weekdays": WEEKDAYS_SLA,
            "error": str(error.detail) if error else None,
            "path": PATH,
            "calendars_path": CALENDARS,
        }
        status = error.status_code if error else 200
        return kit.page(request, "settings_rules/sla_edit.html", context, agent, status)

    @router.get(PATH + "/new", include_in_schema=False)
    async def new_rule(request: Request) -> Response:
        return await rule_editor(
            request, None, forms.FormValues.of(enabled=True, warning_minutes=0)
        )

    @router.get(PATH + "/{rule_id}", include_in_schema=False)
    async def edit_rule(request: Request, rule_id: int) -> Response:
        await kit.administrator(request)
        async with kit.sessions() as db:
            row = await repo.row(db, sla_rules, rule_id)
        if row is None:
            raise ConsoleError(status_code=404, detail=f"SLA rule {rule_id} not found")
        return await rule_editor(request, rule_id, forms.sla_values(row))

    async def save_rule(request: Request, rule_id: int | None) -> Response:
        _, form = await admin_form(kit, request)
        try:
            rule = forms.sla_rule(form)
            if rule_id is None:
                await sla_api.add_rule(kit.sessions, rule)
            else:
                given = rule.model_dump(mode="json", exclude={"position"})
                await sla_api.change_sla_rule(kit.sessions, rule_id, given)
        except HTTPException as exc:
            return await rule_editor(request, rule_id, forms.FormValues.submitted(form), exc)
        return done(PATH, "saved")

    @router.post(PATH + "/new", include_in_schema=False)
    async def create_rule(request: Request) -> Response:
        return await save_rule(request, None)

    @router.post(PATH + "/{rule_id}", include_in_schema=False)
    async def change_rule(request: Request, rule_id: int) -> Response:
        return await save_rule(request, rule_id)

    @router.post(PATH + "/{rule_id}/delete", include_in_schema=False)
    async def delete_rule(request: Request, rule_id: int) -> Response:
        await admin_form(kit, request)
        try:
            await sla_api.remove_sla_rule(kit.sessions, rule_id)
        except HTTPException as exc:
            raise _page_error(exc) from exc
        return done(PATH, "deleted")

    # --- calendars ------------------------------------------------------------------------

    @router.get(CALENDARS, include_in_schema=False)
    async def calendar_list(request: Request) -> Response:
        agent = await kit.administrator(request)
        async with kit.sessions() as db:
            rows = await repo.all_calendars(db)
        context = {
            "calendars": rows,
            "path": CALENDARS,
            "weekdays": WEEKDAYS,
            "done": notice(request),
        }
        return kit.page(request, "settings_rules/calendars.html", context, agent)

    async def calendar_editor(
        request: Request,
        calendar_id: int | None,
        values: forms.FormValues,
        error: HTTPException | None = None,
    ) -> Response:
        agent = await kit.administrator(request)
        context: dict[str, Any] = {
            "calendar_id": calendar_id,
            "v": values,
            "weekdays": WEEKDAYS,
            "error": str(error.detail) if error else None,
            "path": CALENDARS,
        }
        status = error.status_code if error else 200
        return kit.page(request, "settings_rules/calendar_edit.html", context, agent, status)

    @router.get(CALENDARS + "/new", include_in_schema=False)
    async def new_calendar(request: Request) -> Response:
        defaults = {f"hours_{d}": "09:00-18:00" for d in WEEKDAYS[:5]}
        return await calendar_editor(request, None, forms.FormValues.of(timezone="UTC", **defaults))

    @router.get(CALENDARS + "/{calendar_id}", include_in_schema=False)
    async def edit_calendar(request: Request, calendar_id: int) -> Response:
        await kit.administrator(request)
        async with kit.sessions() as db:
            row = await repo.row(db, calendars, calendar_id)
        if row is None:
            raise ConsoleError(status_code=404, detail=f"calendar {calendar_id} not found")
        return await calendar_editor(request, calendar_id, forms.calendar_values(row))

    async def save_calendar(request: Request, calendar_id: int | None) -> Response:
        _, form = await admin_form(kit, request)
        try:
            body = forms.calendar(form)
            if calendar_id is None:
                await sla_api.add_calendar(kit.sessions, body)
            else:
                patch = sla_api.CalendarPatch(**body.model_dump())
                await sla_api.change_calendar(kit.sessions, calendar_id, patch)
        except HTTPException as exc:
            return await calendar_editor(
                request, calendar_id, forms.FormValues.submitted(form), exc
            )
        return done(CALENDARS, "saved")

    @router.post(CALENDARS + "/new", include_in_schema=False)
    async def create_calendar(request: Request) -> Response:
        return await save_calendar(request, None)

    @router.post(CALENDARS + "/{calendar_id}", include_in_schema=False)
    async def change_calendar(request: Request, calendar_id: int) -> Response:
        return await save_calendar(request, calendar_id)

    @router.post(CALENDARS + "/{calendar_id}/delete", include_in_schema=False)
    async def delete_calendar(request: Request, calendar_id: int) -> Response:
        """Refused (409 page) while an SLA rule uses the calendar."""
        await admin_form(kit, request)
        try:
            await sla_api.remove_calendar(kit.sessions, calendar_id)
        except HTTPException as exc:
            raise _page_error(exc) from exc
        return done(CALENDARS, "deleted")

    return router
