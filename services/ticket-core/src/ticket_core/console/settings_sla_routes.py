"""Settings: SLA rules (ordered, drag or up/down, enable/disable; type, priority, client
category, client, registration time; calendar; reaction and resolution targets) and
service calendars (hours per weekday, exception days, timezone). Writes go through
``sla_api``'s functions (the REST API's validation)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from .. import sla_api, sla_schemas
from ..models_sla import calendars, sla_rules
from ..sla_tickets import WEEKDAYS
from . import settings_rules_forms as forms
from . import settings_rules_repo as repo
from . import settings_rules_views as views
from .kit import ConsoleKit
from .ordered_table import OrderedTable, add_order_routes
from .row_editor import RowEditor, add_editor_routes
from .settings_pages import notice

PATH = "/settings/sla"
CALENDARS = "/settings/calendars"
WEEKDAYS_SLA = list(enumerate(views.WEEKDAY_NAMES))  # 0 = Monday


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

    async def save_rule(form: FormData, rule_id: int | None) -> None:
        rule = forms.sla_rule(form)
        if rule_id is None:
            await sla_api.add_rule(kit.sessions, rule)
        else:
            given = rule.model_dump(mode="json", exclude={"position"})
            await sla_api.change_sla_rule(kit.sessions, rule_id, given)

    async def remove_rule(rule_id: int) -> None:
        await sla_api.remove_sla_rule(kit.sessions, rule_id)

    rule_editor = RowEditor(
        path=PATH,
        template="settings_rules/sla_edit.html",
        id_key="rule_id",
        label="SLA rule",
        table=sla_rules,
        blank=forms.FormValues.of(enabled=True, warning_minutes=0),
        values_of=forms.sla_values,
        save=save_rule,
        remove=remove_rule,
        extra={"weekdays": WEEKDAYS_SLA, "calendars_path": CALENDARS},
    )
    add_editor_routes(router, kit, rule_editor)

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

    async def save_calendar(form: FormData, calendar_id: int | None) -> None:
        body = forms.calendar(form)
        if calendar_id is None:
            await sla_api.add_calendar(kit.sessions, body)
        else:
            patch = sla_schemas.CalendarPatch(**body.model_dump())
            await sla_api.change_calendar(kit.sessions, calendar_id, patch)

    async def remove_calendar(calendar_id: int) -> None:
        """Refused (409 page) while an SLA rule uses the calendar."""
        await sla_api.remove_calendar(kit.sessions, calendar_id)

    calendar_editor = RowEditor(
        path=CALENDARS,
        template="settings_rules/calendar_edit.html",
        id_key="calendar_id",
        label="calendar",
        table=calendars,
        blank=forms.FormValues.of(
            timezone="UTC", **{f"hours_{d}": "09:00-18:00" for d in WEEKDAYS[:5]}
        ),
        values_of=forms.calendar_values,
        save=save_calendar,
        remove=remove_calendar,
        extra={"weekdays": WEEKDAYS},
        with_choices=False,
    )
    add_editor_routes(router, kit, calendar_editor)

    return router
