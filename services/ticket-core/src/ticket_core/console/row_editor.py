"""The create/edit/delete pages of one settings table (routing rules, SLA rules, service
calendars, triggers): GET and POST ``<path>/new`` and ``<path>/{id}``, POST
``<path>/{id}/delete``; administrators only, every POST CSRF-checked.

A page module describes its table with a ``RowEditor`` and calls ``add_editor_routes``
(after its list page and any ``ordered_table`` routes). The editor renders ``template``
with the form values ``v``, the row's id under ``id_key`` (None for a new row),
``path``, ``error`` and ``extra`` (plus the catalogue ``choices`` when ``with_choices``).
A refusal while saving (the form's or the REST API's ``HTTPException``) shows the form
again with what was submitted, the reason and its status; a refused delete is an error
page; success redirects to the list with ``?done=saved|deleted``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import Table
from starlette.datastructures import FormData
from starlette.responses import Response

from . import settings_rules_repo as repo
from .forms import ConsoleError
from .kit import ConsoleKit
from .settings_pages import admin_form, as_page_refusal, done
from .settings_rules_forms import FormValues


@dataclass(frozen=True)
class RowEditor:
    path: str  # the list page under /console, e.g. "/settings/sla"
    template: str
    id_key: str  # the template's name for the row id, e.g. "rule_id"
    label: str  # for "<label> <id> not found"
    table: Table
    blank: FormValues  # a new row's form
    values_of: Callable[[dict[str, Any]], FormValues]  # a stored row's form
    save: Callable[[FormData, int | None], Awaitable[None]]  # None: create
    remove: Callable[[int], Awaitable[None]]
    extra: Mapping[str, Any] = field(default_factory=dict)
    with_choices: bool = True


def add_editor_routes(router: APIRouter, kit: ConsoleKit, editor: RowEditor) -> None:
    path = editor.path

    async def page(
        request: Request,
        row_id: int | None,
        values: FormValues,
        error: HTTPException | None = None,
    ) -> Response:
        agent = await kit.administrator(request)
        context: dict[str, Any] = {
            editor.id_key: row_id,
            "v": values,
            "error": str(error.detail) if error else None,
            "path": path,
            **editor.extra,
        }
        if editor.with_choices:
            async with kit.sessions() as db:
                context["choices"] = await repo.choices(db)
        status = error.status_code if error else 200
        return kit.page(request, editor.template, context, agent, status)

    @router.get(path + "/new", include_in_schema=False)
    async def new(request: Request) -> Response:
        return await page(request, None, editor.blank)

    @router.get(path + "/{row_id}", include_in_schema=False)
    async def edit(request: Request, row_id: int) -> Response:
        await kit.administrator(request)
        async with kit.sessions() as db:
            row = await repo.row(db, editor.table, row_id)
        if row is None:
            raise ConsoleError(status_code=404, detail=f"{editor.label} {row_id} not found")
        return await page(request, row_id, editor.values_of(row))

    async def save(request: Request, row_id: int | None) -> Response:
        _, form = await admin_form(kit, request)
        try:
            await editor.save(form, row_id)
        except HTTPException as exc:
            return await page(request, row_id, FormValues.submitted(form), exc)
        return done(path, "saved")

    @router.post(path + "/new", include_in_schema=False)
    async def create(request: Request) -> Response:
        return await save(request, None)

    @router.post(path + "/{row_id}", include_in_schema=False)
    async def change(request: Request, row_id: int) -> Response:
        return await save(request, row_id)

    @router.post(path + "/{row_id}/delete", include_in_schema=False)
    async def delete(request: Request, row_id: int) -> Response:
        await admin_form(kit, request)
        await as_page_refusal(editor.remove(row_id))
        return done(path, "deleted")
