"""Settings: triggers (ordered, drag or up/down, enable/disable; event, conditions and
actions). The form covers the common actions (tag, status, priority, assign, note); the
rest is raw JSON, validated by the triggers API's own models and checks (a refusal is
shown above the form)."""

from __future__ import annotations

import json
from typing import Any, get_args

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import Response

from .. import triggers_api
from ..models_triggers import triggers
from . import settings_rules_forms as forms
from . import settings_rules_repo as repo
from . import settings_rules_views as views
from .forms import ConsoleError
from .kit import ConsoleKit
from .ordered_table import OrderedTable, add_order_routes
from .settings_pages import admin_form, done, notice

PATH = "/settings/triggers"
EVENTS = list(get_args(triggers_api.TriggerEvent))
EXAMPLE_CONDITIONS = json.dumps(
    {"all": [{"field": "ticket.channel", "op": "eq", "value": "email"}]}, indent=2
)
EXAMPLE_ACTIONS = json.dumps([{"type": "add_tag", "tag": "vip"}], indent=2)


def trigger_settings_router(kit: ConsoleKit) -> APIRouter:
    router = kit.router()

    async def ids() -> list[int]:
        async with kit.sessions() as db:
            return await repo.ordered_ids(db, "triggers")

    async def save_order(order: list[int]) -> None:
        await triggers_api.reorder_triggers(kit.sessions, order)

    async def set_enabled(trigger_id: int, enabled: bool) -> None:
        await triggers_api.change_trigger(kit.sessions, trigger_id, {"enabled": enabled}, None)

    add_order_routes(router, kit, OrderedTable(PATH, ids, save_order, set_enabled))

    @router.get(PATH, include_in_schema=False)
    async def table(request: Request) -> Response:
        agent = await kit.administrator(request)
        async with kit.sessions() as db:
            found = await repo.ordered_rows(db, "triggers")
        rows = [
            {
                "id": r["id"],
                "name": r["name"],
                "enabled": r["enabled"],
                "cells": [
                    r["event"],
                    views.trigger_conditions(r["conditions"]),
                    views.trigger_actions(r["actions"]),
                ],
            }
            for r in found
        ]
        context = {"rows": rows, "path": PATH, "done": notice(request)}
        return kit.page(request, "settings_rules/triggers.html", context, agent)

    async def editor(
        request: Request,
        trigger_id: int | None,
        values: forms.FormValues,
        error: HTTPException | None = None,
    ) -> Response:
        agent = await kit.administrator(request)
        async with kit.sessions() as db:
            choices = await repo.choices(db)
        context: dict[str, Any] = {
            "trigger_id": trigger_id,
            "v": values,
            "choices": choices,
            "events": EVENTS,
            "example_conditions": EXAMPLE_CONDITIONS,
            "example_actions": EXAMPLE_ACTIONS,
            "error": str(error.detail) if error else None,
            "path": PATH,
        }
        status = error.status_code if error else 200
        return kit.page(request, "settings_rules/trigger_edit.html", context, agent, status)

    @router.get(PATH + "/new", include_in_schema=False)
    async def new(request: Request) -> Response:
        values = forms.FormValues.of(enabled=True, event="ticket.created", conditions='{"all": []}')
        return await editor(request, None, values)

    @router.get(PATH + "/{trigger_id}", include_in_schema=False)
    async def edit(request: Request, trigger_id: int) -> Response:
        await kit.administrator(request)
        async with kit.sessions() as db:
            row = await repo.row(db, triggers, trigger_id)
        if row is None:
            raise ConsoleError(status_code=404, detail=f"trigger {trigger_id} not found")
        return await editor(request, trigger_id, forms.trigger_values(row))

    async def save(request: Request, trigger_id: int | None) -> Response:
        _, form = await admin_form(kit, request)
        try:
            body = forms.trigger(form)
            if trigger_id is None:
                await triggers_api.add_trigger(kit.sessions, body)
            else:
                changes = body.model_dump(exclude={"actions"})
                await triggers_api.change_trigger(kit.sessions, trigger_id, changes, body.actions)
        except HTTPException as exc:
            return await editor(request, trigger_id, forms.FormValues.submitted(form), exc)
        return done(PATH, "saved")

    @router.post(PATH + "/new", include_in_schema=False)
    async def create(request: Request) -> Response:
        return await save(request, None)

    @router.post(PATH + "/{trigger_id}", include_in_schema=False)
    async def change(request: Request, trigger_id: int) -> Response:
        return await save(request, trigger_id)

    @router.post(PATH + "/{trigger_id}/delete", include_in_schema=False)
    async def delete(request: Request, trigger_id: int) -> Response:
        await admin_form(kit, request)
        try:
            await triggers_api.delete_trigger_row(kit.sessions, trigger_id)
        except HTTPException as exc:
            raise ConsoleError(status_code=exc.status_code, detail=str(exc.detail)) from exc
        return done(PATH, "deleted")

    return router
