"""Macros over HTTP: CRUD, and applying one to a ticket in one click.

A macro is a named list of the same actions triggers use (``trigger_actions.py``): status,
priority, type, responsible, observers, tags, a note, a reply text, a notification. An
agent applies it with ``POST /api/v1/tickets/{id}/macros/{macro_id}`` (``X-Agent-Id``):
the actions run through the trigger executor in one transaction, as that agent; a
refusal (an illegal transition, a contact without an address) is a 422 and changes
nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import crud
from . import repository as repo
from . import workflow_repo as wrepo
from .api import TicketOut, ticket_detail
from .api_common import (
    ActingAgent,
    Limit,
    Name,
    Offset,
    Page,
    bearer_auth,
    not_found,
    refused,
)
from .audit import Actor
from .models_triggers import macros
from .outbox import OutboxRelay
from .settings import TicketCoreSettings
from .trigger_actions import ActionError, ActionList, dump_actions, parse_actions
from .trigger_executor import Provenance, execute, executor_settings
from .triggers_api import check_actions_exist

AgentHeader = ActingAgent  # the logged-in agent, or X-Agent-Id under the service token


class MacroIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    actions: ActionList


class MacroPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    actions: ActionList | None = None


class MacroOut(BaseModel):
    id: int
    name: str
    actions: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


def macros_router(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1", tags=["macros"], dependencies=[Depends(bearer_auth(settings))]
    )
    run_settings = executor_settings(settings)

    @router.get("/macros", response_model=Page[MacroOut])
    async def list_macros(limit: Limit = 50, offset: Offset = 0) -> Page[MacroOut]:
        async with sessions() as session:
            total, rows = await crud.page(
                session, macros, order_by=[macros.c.name], limit=limit, offset=offset
            )
        return Page(total=total, items=[MacroOut(**r) for r in rows])

    @router.post("/macros", response_model=MacroOut, status_code=201)
    async def create_macro(body: MacroIn) -> MacroOut:
        try:
            async with sessions() as session, session.begin():
                await check_actions_exist(session, body.actions)
                row = await crud.create(
                    session, macros, {"name": body.name, "actions": dump_actions(body.actions)}
                )
        except IntegrityError as exc:
            refused(exc, "macro")
        return MacroOut(**row)

    @router.get("/macros/{macro_id}", response_model=MacroOut)
    async def get_macro(macro_id: int) -> MacroOut:
        async with sessions() as session:
            row = await crud.get(session, macros, macro_id)
        if row is None:
            not_found("macro", macro_id)
        return MacroOut(**row)

    @router.patch("/macros/{macro_id}", response_model=MacroOut)
    async def patch_macro(macro_id: int, body: MacroPatch) -> MacroOut:
        for name in ("name", "actions"):
            if name in body.model_fields_set and getattr(body, name) is None:
                raise HTTPException(status_code=422, detail=f"{name} cannot be null")
        changes: dict[str, Any] = {"updated_at": datetime.now(UTC)}
        if body.name is not None:
            changes["name"] = body.name
        try:
            async with sessions() as session, session.begin():
                if body.actions is not None:
                    current = await crud.get(session, macros, macro_id, lock=True)
                    if current is None:
                        not_found("macro", macro_id)
                    await check_actions_exist(session, body.actions, current["actions"])
                    changes["actions"] = dump_actions(body.actions)
                row = await crud.change(session, macros, macro_id, changes)
        except IntegrityError as exc:
            refused(exc, "macro")
        if row is None:
            not_found("macro", macro_id)
        return MacroOut(**row)

    @router.delete("/macros/{macro_id}", status_code=204)
    async def delete_macro(macro_id: int) -> Response:
        async with sessions() as session, session.begin():
            if not await crud.remove(session, macros, macro_id):
                not_found("macro", macro_id)
        return Response(status_code=204)

    @router.post(
        "/tickets/{ticket_id}/macros/{macro_id}",
        response_model=TicketOut,
        summary="Apply a macro to a ticket",
    )
    async def apply_macro(ticket_id: int, macro_id: int, x_agent_id: AgentHeader) -> TicketOut:
        async with sessions() as session:
            async with session.begin():
                if not await wrepo.active_agents(session, [x_agent_id]):
                    raise HTTPException(
                        status_code=403,
                        detail=f"agent {x_agent_id} does not exist or is deactivated",
                    )
                macro = await crud.get(session, macros, macro_id)
                if macro is None:
                    not_found("macro", macro_id)
                if await repo.ticket_by_id(session, ticket_id) is None:
                    not_found("ticket", ticket_id)
                try:
                    done = await execute(
                        session,
                        ticket_id,
                        parse_actions(macro["actions"]),
                        actor=Actor.agent(x_agent_id),
                        reason=f"macro {macro['name']}",
                        provenance=Provenance(
                            details={"macro_id": str(macro_id)}, actor_agent_id=x_agent_id
                        ),
                        settings=run_settings,
                        now=datetime.now(UTC),
                    )
                except ActionError as exc:
                    raise HTTPException(status_code=422, detail=str(exc)) from exc
            await relay.flush_quietly(done.outbox_ids)
            return await ticket_detail(session, ticket_id)

    return router
