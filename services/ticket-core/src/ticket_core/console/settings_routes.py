"""Settings for administrators: the index, and the catalogue (statuses, ticket types,
priorities with their order and colour).

Every page calls ``kit.administrator`` (403 for others, GET and POST alike), every POST
``kit.checked_form`` (CSRF). Writes go through the REST API's own functions and schemas
(``catalog_api.save_row``/``remove_row``/``reorder_priorities``, ``TypeIn``...), so the
rules are the API's; a refusal re-renders the page with the reason (422/409).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy import Table, func, select
from starlette.responses import RedirectResponse, Response

from .. import catalog_api as api
from ..models import TicketStatus as Category
from ..models_workflow import priorities, statuses, ticket_types
from ..statuses import ALLOWED
from .console_auth import ConsoleAgent
from .forms import PREFIX, ConsoleError, int_field
from .kit import ConsoleKit
from .settings_forms import FormRefused, checkbox, moved, ordered_ids, text, validation_text
from .settings_menu import SETTINGS_MENU


@dataclass(frozen=True)
class CatalogueKind:
    slug: str
    title: str
    what: str
    table: Table
    create: type[BaseModel]
    patch: type[BaseModel]


KINDS = {
    "statuses": CatalogueKind(
        "statuses", "Statuses", "status", statuses, api.StatusIn, api.StatusPatch
    ),
    "types": CatalogueKind(
        "types", "Ticket types", "ticket type", ticket_types, api.TypeIn, api.TypePatch
    ),
    "priorities": CatalogueKind(
        "priorities", "Priorities", "priority", priorities, api.PriorityIn, api.PriorityPatch
    ),
}


def _values(
    kind: CatalogueKind, form: Any, *, editing: bool, position: int | None = None
) -> dict[str, Any]:
    """The form as the API's request body (checked by its schema)."""
    values: dict[str, Any] = {"name": text(form, "name", 200)}
    if kind.slug == "statuses":
        if not editing:
            values["category"] = text(form, "category", 20)
        values["position"] = int_field(form, "position") or 0
        values["is_default"] = checkbox(form, "is_default")
        values["counts_toward_load"] = checkbox(form, "counts_toward_load")
    elif kind.slug == "types":
        values["internal"] = checkbox(form, "internal")
    else:
        values["colour"] = text(form, "colour", 7)
        values["is_default"] = checkbox(form, "is_default")
        if position is not None:
            values["position"] = position
    model = kind.patch if editing else kind.create
    try:
        body = model.model_validate(values)
    except ValidationError as exc:
        raise FormRefused(validation_text(exc)) from exc
    return body.model_dump(mode="json", exclude_none=True)


def settings_router(kit: ConsoleKit) -> APIRouter:
    router = kit.router()

    @router.get("/settings", include_in_schema=False)
    async def index(request: Request) -> Response:
        agent = await kit.administrator(request)
        return kit.page(request, "settings/index.html", {"menu": SETTINGS_MENU}, agent)

    # --- the catalogue ------------------------------------------------------------------

    def kind_of(slug: str) -> CatalogueKind:
        kind = KINDS.get(slug)
        if kind is None:
            raise ConsoleError(status_code=404, detail="no such settings page")
        return kind

    async def rows_of(kind: CatalogueKind) -> list[dict[str, Any]]:
        table = kind.table
        if kind.slug == "priorities":
            order = [table.c.position.desc(), table.c.id]
        elif kind.slug == "statuses":
            order = [table.c.position, table.c.id]
        else:
            order = [table.c.id]
        async with kit.sessions() as db:
            return [dict(r) for r in (await db.execute(select(table).order_by(*order))).mappings()]

    async def list_page(
        request: Request,
        agent: ConsoleAgent,
        kind: CatalogueKind,
        *,
        error: str | None = None,
        status_code: int = 200,
        editing: dict[str, Any] | None = None,
        draft: dict[str, Any] | None = None,
    ) -> Response:
        context = {
            "kind": kind,
            "rows": await rows_of(kind),
            "error": error,
            "editing": editing,
            "draft": draft or {},
            "done": request.query_params.get("done"),
            "categories": [c.value for c in Category],
            "allowed": {c.value: sorted(a.value for a in ALLOWED[c]) for c in Category},
        }
        return kit.page(request, "settings/catalogue.html", context, agent, status_code)

    def done(kind: CatalogueKind, what: str) -> Response:
        return RedirectResponse(f"{PREFIX}/settings/{kind.slug}?done={what}", status_code=303)

    async def catalogue(request: Request, slug: str) -> Response:
        agent = await kit.administrator(request)
        return await list_page(request, agent, kind_of(slug))

    async def edit_form(request: Request, slug: str, row_id: int) -> Response:
        agent = await kit.administrator(request)
        kind = kind_of(slug)
        row = next((r for r in await rows_of(kind) if r["id"] == row_id), None)
        if row is None:
            raise ConsoleError(status_code=404, detail=f"{kind.what} {row_id} not found")
        return await list_page(request, agent, kind, editing=row, draft=row)

    async def next_position(kind: CatalogueKind) -> int:
        async with kit.sessions() as db:
            top = await db.scalar(select(func.max(kind.table.c.position)))
        return min(int(top or 0) + 10, 10_000)

    async def create(request: Request, slug: str) -> Response:
        agent = await kit.administrator(request)
        form = await kit.checked_form(request, agent)
        kind = kind_of(slug)
        try:
            # a new priority goes on top (most urgent); reorder afterwards
            position = await next_position(kind) if kind.slug == "priorities" else None
            values = _values(kind, form, editing=False, position=position)
            await api.save_row(kit.sessions, kind.table, kind.what, None, values)
        except FormRefused as exc:
            return await list_page(
                request, agent, kind, error=str(exc), status_code=422, draft=dict(form)
            )
        except HTTPException as exc:
            return await list_page(
                request,
                agent,
                kind,
                error=str(exc.detail),
                status_code=exc.status_code,
                draft=dict(form),
            )
        return done(kind, "created")

    async def change(request: Request, slug: str, row_id: int) -> Response:
        agent = await kit.administrator(request)
        form = await kit.checked_form(request, agent)
        kind = kind_of(slug)
        row = {"id": row_id, **dict(form)}
        try:
            values = _values(kind, form, editing=True)
            await api.save_row(kit.sessions, kind.table, kind.what, row_id, values)
        except FormRefused as exc:
            return await list_page(
                request, agent, kind, error=str(exc), status_code=422, editing=row, draft=row
            )
        except HTTPException as exc:
            return await list_page(
                request,
                agent,
                kind,
                error=str(exc.detail),
                status_code=exc.status_code,
                editing=row,
                draft=row,
            )
        return done(kind, "saved")

    async def delete(request: Request, slug: str, row_id: int) -> Response:
        agent = await kit.administrator(request)
        await kit.checked_form(request, agent)
        kind = kind_of(slug)
        try:
            await api.remove_row(kit.sessions, kind.table, kind.what, row_id)
        except HTTPException as exc:
            return await list_page(
                request, agent, kind, error=str(exc.detail), status_code=exc.status_code
            )
        return done(kind, "deleted")

    # --- the order of priorities ------------------------------------------------------

    @router.post("/settings/priorities/order", include_in_schema=False)
    async def reorder(request: Request) -> Response:
        """The whole order (drag and drop: ``id`` repeated, most urgent first), or one
        priority moved one place (``move`` = ``<id>:up|down``, the buttons)."""
        agent = await kit.administrator(request)
        form = await kit.checked_form(request, agent)
        kind = KINDS["priorities"]
        try:
            current = [int(r["id"]) for r in await rows_of(kind)]
            move = str(form.get("move") or "")
            if move:
                raw_id, _, direction = move.partition(":")
                wanted = moved(current, int_field({"id": raw_id}, "id") or 0, direction)
            else:
                wanted = ordered_ids([str(v) for v in form.getlist("id")])
            await api.reorder_priorities(kit.sessions, wanted)
        except FormRefused as exc:
            return await list_page(request, agent, kind, error=str(exc), status_code=422)
        except HTTPException as exc:
            return await list_page(
                request, agent, kind, error=str(exc.detail), status_code=exc.status_code
            )
        if request.headers.get("hx-request"):
            return Response(status_code=204)
        return done(kind, "reordered")

    # Explicit paths per kind (a path parameter would swallow other settings pages).
    for slug in KINDS:
        base = f"/settings/{slug}"
        for path, endpoint, method in (
            (base, catalogue, "GET"),
            (base, create, "POST"),
            (base + "/{row_id}", edit_form, "GET"),
            (base + "/{row_id}", change, "POST"),
            (base + "/{row_id}/delete", delete, "POST"),
        ):
            router.add_api_route(
                path,
                _bound(endpoint, slug),
                methods=[method],
                include_in_schema=False,
            )
    return router


def _bound(endpoint: Any, slug: str) -> Any:
    """``endpoint`` with its ``slug`` fixed (FastAPI sees request and row_id only)."""
    if "row_id" in endpoint.__code__.co_varnames[: endpoint.__code__.co_argcount]:

        async def with_row(request: Request, row_id: int) -> Response:
            response: Response = await endpoint(request, slug, row_id)
            return response

        return with_row

    async def without_row(request: Request) -> Response:
        response: Response = await endpoint(request, slug)
        return response

    return without_row
