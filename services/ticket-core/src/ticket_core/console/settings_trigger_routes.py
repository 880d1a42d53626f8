"""Settings: triggers (ordered, drag or up/down, enable/disable; event, conditions and
actions). The form covers the common actions (tag, status, priority, assign, note); the
rest is raw JSON, validated by the triggers API's own models and checks (a refusal is
shown above the form)."""

from __future__ import annotations

import json
from typing import get_args

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from .. import triggers_api
from ..models_triggers import triggers
from . import settings_rules_forms as forms
from . import settings_rules_repo as repo
from . import settings_rules_views as views
from .kit import ConsoleKit
from .ordered_table import OrderedTable, add_order_routes
from .row_editor import RowEditor, add_editor_routes
from .settings_pages import notice

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

    async def save(form: FormData, trigger_id: int | None) -> None:
        body = forms.trigger(form)
        if trigger_id is None:
            await triggers_api.add_trigger(kit.sessions, body)
        else:
            changes = body.model_dump(exclude={"actions"})
            await triggers_api.change_trigger(kit.sessions, trigger_id, changes, body.actions)

    async def remove(trigger_id: int) -> None:
        await triggers_api.delete_trigger_row(kit.sessions, trigger_id)

    editor = RowEditor(
        path=PATH,
        template="settings_rules/trigger_edit.html",
        id_key="trigger_id",
        label="trigger",
        table=triggers,
        blank=forms.FormValues.of(enabled=True, event="ticket.created", conditions='{"all": []}'),
        values_of=forms.trigger_values,
        save=save,
        remove=remove,
        extra={
            "events": EVENTS,
            "example_conditions": EXAMPLE_CONDITIONS,
            "example_actions": EXAMPLE_ACTIONS,
        },
    )
    add_editor_routes(router, kit, editor)

    return router
