"""Canned responses over HTTP: CRUD (per agent group, or shared when ``group_id`` is null),
lists filtered by group and category, and rendering one for a ticket."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import collab_repo as crepo
from . import crud
from . import repository as repo
from . import workflow_repo as wrepo
from .api_common import AGENT_HEADER_DOC, Limit, Name, Offset, Page, bearer_auth, not_found, refused
from .canned import RenderValues, TemplateRefused, render, validate
from .models_collab import canned_responses as table
from .settings import TicketCoreSettings

TemplateText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=20_000,
        description="Jinja2 text; placeholders: {{ contact.name }}, {{ contact.email }}, "
        "{{ ticket.number }}, {{ ticket.subject }}, {{ agent.name }}, {{ agent.email }}.",
    ),
]
Category = Annotated[str, Field(min_length=1, max_length=200)]


class CannedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group_id: int | None = Field(default=None, description="null: shared by every group.")
    category: Category | None = None
    title: Name
    text: TemplateText


class CannedPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group_id: int | None = None
    category: Category | None = None
    title: Name | None = None
    text: TemplateText | None = None


class CannedOut(BaseModel):
    id: int
    group_id: int | None
    category: str | None
    title: str
    text: str
    created_at: datetime
    updated_at: datetime


class Rendered(BaseModel):
    canned_response_id: int
    ticket_id: int
    text: str


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    if "text" in values:
        try:
            validate(values["text"])
        except TemplateRefused as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
    for name in ("title",):
        if name in values and values[name] is None:
            raise HTTPException(status_code=422, detail=f"{name} cannot be null")
    return values


Sessions = async_sessionmaker[AsyncSession]


async def add_canned(sessions: Sessions, body: CannedIn) -> CannedOut:
    values = _checked(body.model_dump())
    try:
        async with sessions() as session, session.begin():
            return CannedOut(**await crud.create(session, table, values))
    except IntegrityError as exc:
        refused(exc, f"canned response {body.title!r}")


async def change_canned(sessions: Sessions, row_id: int, body: CannedPatch) -> CannedOut:
    values = _checked(body.model_dump(exclude_unset=True))
    if values:
        values["updated_at"] = datetime.now(UTC)
    try:
        async with sessions() as session, session.begin():
            row = await crud.change(session, table, row_id, values)
    except IntegrityError as exc:
        refused(exc, f"canned response {row_id}")
    if row is None:
        not_found("canned response", row_id)
    return CannedOut(**row)


async def remove_canned(sessions: Sessions, row_id: int) -> None:
    async with sessions() as session, session.begin():
        if not await crud.remove(session, table, row_id):
            not_found("canned response", row_id)


def canned_router(
    settings: TicketCoreSettings, sessions: async_sessionmaker[AsyncSession]
) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1", tags=["canned responses"], dependencies=[Depends(bearer_auth(settings))]
    )

    @router.get("/canned-responses", response_model=Page[CannedOut])
    async def list_canned(
        group_id: Annotated[int | None, Query(description="Those of this group.")] = None,
        include_shared: Annotated[
            bool, Query(description="With group_id: the shared ones (no group) too.")
        ] = False,
        category: Annotated[str | None, Query(max_length=200)] = None,
        q: Annotated[str | None, Query(max_length=200, description="Text in the title.")] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[CannedOut]:
        where: list[ColumnElement[bool]] = []
        if group_id is not None:
            mine = table.c.group_id == group_id
            where.append(or_(mine, table.c.group_id.is_(None)) if include_shared else mine)
        if category is not None:
            where.append(table.c.category == category)
        if q and q.strip():
            where.append(table.c.title.icontains(q.strip(), autoescape=True))
        async with sessions() as session:
            total, rows = await crud.page(
                session,
                table,
                where=where,
                order_by=[table.c.title, table.c.id],
                limit=limit,
                offset=offset,
            )
        return Page(total=total, items=[CannedOut(**r) for r in rows])

    @router.post("/canned-responses", response_model=CannedOut, status_code=201)
    async def create_canned(body: CannedIn) -> CannedOut:
        return await add_canned(sessions, body)

    @router.get("/canned-responses/{row_id}", response_model=CannedOut)
    async def get_canned(row_id: int) -> CannedOut:
        async with sessions() as session:
            row = await crud.get(session, table, row_id)
        if row is None:
            not_found("canned response", row_id)
        return CannedOut(**row)

    @router.patch("/canned-responses/{row_id}", response_model=CannedOut)
    async def patch_canned(row_id: int, body: CannedPatch) -> CannedOut:
        return await change_canned(sessions, row_id, body)

    @router.delete("/canned-responses/{row_id}", status_code=204)
    async def delete_canned(row_id: int) -> Response:
        await remove_canned(sessions, row_id)
        return Response(status_code=204)

    @router.post("/canned-responses/{row_id}/render", response_model=Rendered)
    async def render_canned(
        row_id: int,
        ticket_id: int,
        x_agent_id: Annotated[
            int | None, Header(alias="X-Agent-Id", description=AGENT_HEADER_DOC)
        ] = None,
    ) -> Rendered:
        """The response filled in for the ticket (and the acting agent), ready to send."""
        async with sessions() as session:
            row = await crud.get(session, table, row_id)
            if row is None:
                not_found("canned response", row_id)
            ticket = await repo.ticket_by_id(session, ticket_id)
            if ticket is None:
                not_found("ticket", ticket_id)
            contact = (
                await repo.contact_by_id(session, ticket["contact_id"])
                if ticket["contact_id"] is not None
                else None
            )
            agent = None
            if x_agent_id is not None:
                if not await wrepo.active_agents(session, [x_agent_id]):
                    raise HTTPException(
                        status_code=403,
                        detail=f"agent {x_agent_id} does not exist or is deactivated",
                    )
                agent = await crepo.agent_by_id(session, x_agent_id)
        values = RenderValues(
            contact_name=(contact or {}).get("display_name") or "",
            contact_email=(contact or {}).get("email") or "",
            ticket_number=int(ticket["number"]),
            ticket_subject=str(ticket["subject"]),
            agent_name=agent["name"] if agent else None,
            agent_email=agent["email"] if agent else None,
        )
        try:
            text = render(row["text"], values)
        except TemplateRefused as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        return Rendered(canned_response_id=row_id, ticket_id=ticket_id, text=text)

    return router
