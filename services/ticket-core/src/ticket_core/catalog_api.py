"""Ticket types, priorities and custom statuses over HTTP.

Exactly one priority, and one status per category, is the default (new tickets, and
moves asked by category, use it): making another row the default moves the flag; the
default itself cannot be unset or deleted. A status keeps its category for life (tickets
hold both); a row still used by tickets cannot be deleted (409). A row can be switched
off instead (``active``: false): not offered for new choices, kept by the tickets that
have it; a default cannot be switched off (422), nor an inactive row made the default.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import crud
from .api_common import Limit, Name, Offset, Page, bearer_auth, not_found, refused
from .models import TicketStatus as Category
from .models_workflow import priorities, statuses, ticket_types
from .settings import TicketCoreSettings

Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$", description="#rrggbb")]


class TypeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    internal: bool = Field(default=False, description="Customers never see nor hear of it.")
    active: bool = Field(default=True, description="Offered for new choices (migration 0015).")


class TypePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    internal: bool | None = None
    active: bool | None = None


class TypeOut(BaseModel):
    id: int
    name: str
    internal: bool
    active: bool = True


class PriorityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    position: int = Field(ge=0, le=10_000, description="Higher is more urgent.")
    colour: Colour
    is_default: bool = False
    active: bool = Field(default=True, description="Offered for new choices (migration 0015).")


class PriorityPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)
    colour: Colour | None = None
    is_default: bool | None = None
    active: bool | None = None


class PriorityOut(BaseModel):
    id: int
    name: str
    position: int
    colour: str
    is_default: bool
    active: bool = True


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    category: Category
    position: int = Field(default=0, ge=0, le=10_000)
    is_default: bool = False
    counts_toward_load: bool = Field(
        default=True, description="Tickets in it count toward an agent's load (routing)."
    )
    active: bool = Field(default=True, description="Offered for new choices (migration 0015).")


class StatusPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)
    is_default: bool | None = None
    counts_toward_load: bool | None = None
    active: bool | None = None


class StatusOut(BaseModel):
    id: int
    name: str
    category: Category
    position: int
    is_default: bool
    counts_toward_load: bool = True
    active: bool = True


def _default_scope(table: Table, row: dict[str, Any]) -> list[Any]:
    return [table.c.category == row["category"]] if table is statuses else []


async def _write(
    session: AsyncSession, table: Table, what: str, row_id: int | None, values: dict[str, Any]
) -> dict[str, Any]:
    """Create (``row_id`` None) or change a row that may carry the default flag."""
    current = await crud.get(session, table, row_id, lock=True) if row_id is not None else None
    if row_id is not None and current is None:
        not_found(what, row_id)
    if current is not None and current.get("is_default") and values.get("is_default") is False:
        raise HTTPException(
            status_code=422, detail="make another row the default instead of unsetting this one"
        )
    merged = {**(current or {}), **values}
    if merged.get("is_default") and merged.get("active") is False:  # (migration 0015)
        raise HTTPException(
            status_code=422,
            detail=f"the default {what} cannot be inactive: make another row the default first",
        )
    if values.get("is_default") and not (current and current["is_default"]):
        await crud.clear_default(session, table, *_default_scope(table, current or values))
    if row_id is None:
        return await crud.create(session, table, values)
    row = await crud.change(session, table, row_id, values)
    assert row is not None
    return row


async def _delete(session: AsyncSession, table: Table, row_id: int, what: str) -> None:
    current = await crud.get(session, table, row_id, lock=True)
    if current is None:
        not_found(what, row_id)
    if current.get("is_default"):
        raise HTTPException(status_code=409, detail=f"{what} {row_id} is the default")
    await crud.remove(session, table, row_id)


async def save_row(
    sessions: async_sessionmaker[AsyncSession],
    table: Table,
    what: str,
    row_id: int | None,
    values: dict[str, Any],
) -> dict[str, Any]:
    """Create (``row_id`` None) or change a type, priority or status, already validated
    by its schema (the API's and the console's path): 404, 409 (duplicate), 422."""
    try:
        async with sessions() as session, session.begin():
            return await _write(session, table, what, row_id, values)
    except IntegrityError as exc:
        refused(exc, f"{what} {values.get('name', row_id)!r}")


async def remove_row(
    sessions: async_sessionmaker[AsyncSession], table: Table, what: str, row_id: int
) -> None:
    """Delete a row: 404, 409 when it is the default or still used by tickets."""
    try:
        async with sessions() as session, session.begin():
            await _delete(session, table, row_id, what)
    except IntegrityError as exc:
        refused(exc, f"{what} {row_id}")


async def reorder_priorities(
    sessions: async_sessionmaker[AsyncSession], most_urgent_first: list[int]
) -> None:
    """Give the priorities positions in this order (the first is the most urgent); the
    list must name every priority once (422)."""
    async with sessions() as session, session.begin():
        existing = set((await session.scalars(select(priorities.c.id).with_for_update())).all())
        if (
            len(most_urgent_first) != len(set(most_urgent_first))
            or set(most_urgent_first) != existing
        ):
            raise HTTPException(status_code=422, detail="name every priority exactly once")
        count = len(most_urgent_first)
        for index, row_id in enumerate(most_urgent_first):
            await crud.change(session, priorities, row_id, {"position": (count - index) * 10})


def catalog_router(
    settings: TicketCoreSettings, sessions: async_sessionmaker[AsyncSession]
) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1", tags=["catalogue"], dependencies=[Depends(bearer_auth(settings))]
    )

    def routes(
        path: str, what: str, plural: str, table: Table, schemas: tuple[Any, Any, Any]
    ) -> None:
        body_in, body_patch, out = schemas
        order = [table.c.position, table.c.id] if "position" in table.c else [table.c.id]

        async def list_rows(limit: Limit = 50, offset: Offset = 0) -> Any:
            async with sessions() as session:
                total, rows = await crud.page(
                    session, table, order_by=order, limit=limit, offset=offset
                )
            return {"total": total, "items": [out(**r) for r in rows]}

        async def get_row(row_id: int) -> Any:
            async with sessions() as session:
                row = await crud.get(session, table, row_id)
            if row is None:
                not_found(what, row_id)
            return out(**row)

        async def create_row(body: Any) -> Any:
            values = body.model_dump(mode="json")
            return out(**await save_row(sessions, table, what, None, values))

        async def patch_row(row_id: int, body: Any) -> Any:
            values = body.model_dump(mode="json", exclude_unset=True, exclude_none=True)
            return out(**await save_row(sessions, table, what, row_id, values))

        async def delete_row(row_id: int) -> Response:
            await remove_row(sessions, table, what, row_id)
            return Response(status_code=204)

        # The request bodies differ per table: give FastAPI the real classes.
        create_row.__annotations__["body"] = body_in
        patch_row.__annotations__["body"] = body_patch
        item = f"{path}/{{row_id}}"
        page_of = Page[out]  # type: ignore[valid-type]  # a runtime pydantic generic
        for route, endpoint, method, extra in (
            (path, list_rows, "GET", {"response_model": page_of, "summary": f"List {plural}"}),
            (item, get_row, "GET", {"response_model": out, "summary": f"Get a {what}"}),
            (
                path,
                create_row,
                "POST",
                {"response_model": out, "status_code": 201, "summary": f"Create a {what}"},
            ),
            (item, patch_row, "PATCH", {"response_model": out, "summary": f"Change a {what}"}),
            (item, delete_row, "DELETE", {"status_code": 204, "summary": f"Delete a {what}"}),
        ):
            router.add_api_route(route, endpoint, methods=[method], **extra)

    routes(
        "/ticket-types", "ticket type", "ticket types", ticket_types, (TypeIn, TypePatch, TypeOut)
    )
    routes(
        "/priorities",
        "priority",
        "priorities",
        priorities,
        (PriorityIn, PriorityPatch, PriorityOut),
    )
    routes("/statuses", "status", "statuses", statuses, (StatusIn, StatusPatch, StatusOut))
    return router
