"""Settings: the routing table (ordered, drag or up/down, enable/disable), a rule's
conditions and actions, and the statuses that do not count toward an agent's load.
Writes go through ``routing_api`` (the REST API's validation) and the catalogue's writer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from helpdesk_common.records import Channel
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from .. import routing_api
from ..api_common import refused
from ..catalog_api import _write as write_catalogue_row
from ..models_routing import routing_rules
from ..models_workflow import statuses
from ..routing import Distribution
from . import settings_rules_forms as forms
from . import settings_rules_repo as repo
from . import settings_rules_views as views
from .forms import ConsoleError
from .kit import ConsoleKit
from .ordered_table import OrderedTable, add_order_routes
from .settings_pages import admin_form, done, notice

PATH = "/settings/routing"
WEEKDAYS_ISO = [(i + 1, name) for i, name in enumerate(views.WEEKDAY_NAMES)]


def routing_settings_router(kit: ConsoleKit) -> APIRouter:
    router = kit.router()

    async def ids() -> list[int]:
        async with kit.sessions() as db:
            return await repo.ordered_ids(db, "routing")

    async def save_order(order: list[int]) -> None:
        await routing_api.reorder_rules(kit.sessions, order)

    async def set_enabled(rule_id: int, enabled: bool) -> None:
        await routing_api.write_rule(kit.sessions, rule_id, routing_api.RulePatch(enabled=enabled))

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

    async def editor(
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
            "channels": [c.value for c in Channel],
            "distributions": [d.value for d in Distribution],
            "weekdays": WEEKDAYS_ISO,
            "error": str(error.detail) if error else None,
            "path": PATH,
        }
        status = error.status_code if error else 200
        return kit.page(request, "settings_rules/routing_edit.html", context, agent, status)

    @router.get(PATH + "/new", include_in_schema=False)
    async def new(request: Request) -> Response:
        return await editor(request, None, forms.FormValues.of(enabled=True, distribution="none"))

    @router.get(PATH + "/{rule_id}", include_in_schema=False)
    async def edit(request: Request, rule_id: int) -> Response:
        await kit.administrator(request)
        async with kit.sessions() as db:
            row = await repo.row(db, routing_rules, rule_id)
        if row is None:
            raise ConsoleError(status_code=404, detail=f"routing rule {rule_id} not found")
        return await editor(request, rule_id, forms.routing_values(row))

    async def save(request: Request, rule_id: int | None) -> Response:
        _, form = await admin_form(kit, request)
        try:
            rule = forms.routing_rule(form)
            body = rule if rule_id is None else forms.routing_patch(rule)
            await routing_api.write_rule(kit.sessions, rule_id, body)
        except HTTPException as exc:
            return await editor(request, rule_id, forms.FormValues.submitted(form), exc)
        return done(PATH, "saved")

    @router.post(PATH + "/new", include_in_schema=False)
    async def create(request: Request) -> Response:
        return await save(request, None)

    @router.post(PATH + "/{rule_id}", include_in_schema=False)
    async def change(request: Request, rule_id: int) -> Response:
        return await save(request, rule_id)

    @router.post(PATH + "/{rule_id}/delete", include_in_schema=False)
    async def delete(request: Request, rule_id: int) -> Response:
        await admin_form(kit, request)
        try:
            await routing_api.remove_rule(kit.sessions, rule_id)
        except HTTPException as exc:
            raise ConsoleError(status_code=exc.status_code, detail=str(exc.detail)) from exc
        return done(PATH, "deleted")

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
