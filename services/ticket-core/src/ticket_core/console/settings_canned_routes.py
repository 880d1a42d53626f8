"""Settings: canned responses per agent group (or shared): list, create, edit, delete, the
placeholders, and a preview filled with sample values through the canned renderer.
Writes go through ``canned_api``'s functions (the REST API's checks)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import Response

from .. import canned_api
from ..canned import PLACEHOLDERS, RenderValues, TemplateRefused, render
from ..models_collab import canned_responses
from . import settings_rules_forms as forms
from . import settings_rules_repo as repo
from . import ticket_repo
from .console_auth import ConsoleAgent
from .forms import ConsoleError
from .kit import ConsoleKit
from .settings_pages import admin_form, done, notice

PATH = "/settings/canned"
PLACEHOLDER_LIST = [
    f"{root}.{name}" for root, names in PLACEHOLDERS.items() for name in sorted(names)
]


def sample_values(agent: ConsoleAgent) -> RenderValues:
    return RenderValues(
        contact_name="Carla Customer",
        contact_email="carla@example.com",
        ticket_number=1042,
        ticket_subject="Printer does not print",
        agent_name=agent.name,
        agent_email="agent@example.com",
    )


def canned_settings_router(kit: ConsoleKit) -> APIRouter:
    router = kit.router()

    async def groups() -> list[dict[str, Any]]:
        async with kit.sessions() as db:
            return (await ticket_repo.catalogue(db, with_companies=False)).groups

    @router.get(PATH, include_in_schema=False)
    async def listing(request: Request) -> Response:
        agent = await kit.administrator(request)
        async with kit.sessions() as db:
            rows = await repo.canned_list(db)
        names = {g["id"]: g["name"] for g in await groups()}
        context = {"rows": rows, "group_names": names, "path": PATH, "done": notice(request)}
        return kit.page(request, "settings_rules/canned.html", context, agent)

    async def editor(
        request: Request,
        row_id: int | None,
        values: forms.FormValues,
        *,
        error: HTTPException | None = None,
        preview: str | None = None,
    ) -> Response:
        agent = await kit.administrator(request)
        context: dict[str, Any] = {
            "row_id": row_id,
            "v": values,
            "groups": await groups(),
            "placeholders": PLACEHOLDER_LIST,
            "preview": preview,
            "error": str(error.detail) if error else None,
            "path": PATH,
        }
        status = error.status_code if error else 200
        return kit.page(request, "settings_rules/canned_edit.html", context, agent, status)

    @router.get(PATH + "/new", include_in_schema=False)
    async def new(request: Request) -> Response:
        return await editor(request, None, forms.FormValues())

    @router.get(PATH + "/{row_id}", include_in_schema=False)
    async def edit(request: Request, row_id: int) -> Response:
        await kit.administrator(request)
        async with kit.sessions() as db:
            row = await repo.row(db, canned_responses, row_id)
        if row is None:
            raise ConsoleError(status_code=404, detail=f"canned response {row_id} not found")
        return await editor(request, row_id, forms.canned_values(row))

    async def save(request: Request, row_id: int | None) -> Response:
        """``action=preview`` fills it with sample values; ``action=save`` stores it."""
        agent, form = await admin_form(kit, request)
        submitted = forms.FormValues.submitted(form)
        try:
            body = forms.canned(form)
            if form.get("action") == "preview":
                try:
                    text = render(body.text, sample_values(agent))
                except TemplateRefused as exc:
                    raise ConsoleError(status_code=422, detail=str(exc)) from exc
                return await editor(request, row_id, submitted, preview=text)
            if row_id is None:
                await canned_api.add_canned(kit.sessions, body)
            else:
                patch = canned_api.CannedPatch(**body.model_dump())
                await canned_api.change_canned(kit.sessions, row_id, patch)
        except HTTPException as exc:
            return await editor(request, row_id, submitted, error=exc)
        return done(PATH, "saved")

    @router.post(PATH + "/new", include_in_schema=False)
    async def create(request: Request) -> Response:
        return await save(request, None)

    @router.post(PATH + "/{row_id}", include_in_schema=False)
    async def change(request: Request, row_id: int) -> Response:
        return await save(request, row_id)

    @router.post(PATH + "/{row_id}/delete", include_in_schema=False)
    async def delete(request: Request, row_id: int) -> Response:
        await admin_form(kit, request)
        try:
            await canned_api.remove_canned(kit.sessions, row_id)
        except HTTPException as exc:
            raise ConsoleError(status_code=exc.status_code, detail=str(exc.detail)) from exc
        return done(PATH, "deleted")

    return router
