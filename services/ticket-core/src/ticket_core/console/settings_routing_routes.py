"""Settings: the routing table (ordered, drag or up/down, enable/disable), a rule's
conditions and actions, and the statuses that do not count toward an agent's load.
Writes go through ``routing_table`` (the REST API's validation) and the catalogue's writer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from helpdesk_common.records import Channel
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import FormData
from starlette.responses import Response

from .. import routing_table
from ..api_common import refused
from ..catalog_api import _write as write_catalogue_row
from ..models_routing import routing_rules
from ..models_workflow import statuses
from ..routing import Distribution
from ..routing_schemas import RulePatch
from . import settings_rules_forms as forms
from . import settings_rules_repo as repo
from . import settings_rules_views as views
from .kit import ConsoleKit
from .ordered_table import OrderedTable, add_order_routes
from .row_editor import RowEditor, add_editor_routes
from .settings_pages import admin_form, done, notice

PATH = "/settings/routing"
WEEKDAYS_ISO = [(i + 1, name) for i, name in enumerate(views.WEEKDAY_NAMES)]


def routing_settings_router(kit: ConsoleKit) -> APIRouter:
    router = kit.router()

    async def ids() -> list[int]:
        async with kit.sessions() as db:
            return await repo.ordered_ids(db, "routing")

    async def save_order(order: list[int]) -> None:
        await routing_table.reorder_rules(kit.sessions, order)

    async def set_enabled(rule_id: int, enabled: bool) -> None:
        await routing_table.write_rule(kit.sessions, rule_id, RulePatch(enabled=enabled))

    add_order_routes(router, kit, OrderedTable(PATH, ids, save_order, set_enabled))

    @router.get(PATH, include_in_schema=False)
    async def table(request: Request) -> Response:
        agent = await kit.administrator(request)
        async with kit.sessions() as db:
            rules = await repo.ordered_rows(db, "routing")
            choices = await repo.choices(db)
            load = await repo.load_statuses(db)
        rows = [
            {
                "id": r["id"],
                "name": r["name"],
                "enabled": r["enabled"],
                "cells": [
                    views.routing_conditions(r["conditions"], choices),
                    views.routing_action(r, choices),
                ],
            }
            for r in rules
        ]
        return kit.page(
            request,
            "settings_rules/routing.html",
            {"rows": rows, "statuses": load, "path": PATH, "done": notice(request)},
            agent,
        )

    async def save(form: FormData, rule_id: int | None) -> None:
        rule = forms.routing_rule(form)
        body = rule if rule_id is None else forms.routing_patch(rule)
        await routing_table.write_rule(kit.sessions, rule_id, body)

    async def remove(rule_id: int) -> None:
        await routing_table.remove_rule(kit.sessions, rule_id)

    editor = RowEditor(
        path=PATH,
        template="settings_rules/routing_edit.html",
        id_key="rule_id",
        label="routing rule",
        table=routing_rules,
        blank=forms.FormValues.of(enabled=True, distribution="none"),
        values_of=forms.routing_values,
        save=save,
        remove=remove,
        extra={
            "channels": [c.value for c in Channel],
            "distributions": [d.value for d in Distribution],
            "weekdays": WEEKDAYS_ISO,
        },
    )
    add_editor_routes(router, kit, editor)

    @router.post(PATH + "-load", include_in_schema=False)
    async def load(request: Request) -> Response:
        """``counts`` lists the statuses that count toward load; the others do not."""
        _, form = await admin_form(kit, request)
        counted = set(forms.ids(form, "counts"))
        try:
            async with kit.sessions() as db, db.begin():
                for status in await repo.load_statuses(db):
                    wanted = status["id"] in counted
                    if wanted != status["counts_toward_load"]:
                        await write_catalogue_row(
                            db, statuses, "status", status["id"], {"counts_toward_load": wanted}
                        )
        except IntegrityError as exc:
            refused(exc, "status")
        return done(PATH, "load saved")

    return router
