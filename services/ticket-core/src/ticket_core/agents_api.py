"""Agents and agent groups over HTTP.

Agents are never deleted (the audit trail names them): they are deactivated, which is
refused (409) while they are responsible for Open or Pending tickets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import crud
from . import org_repo as orepo
from .api_common import Limit, Name, Offset, Page, bearer_auth, not_found, refused
from .models_org import AgentRole, agents, groups
from .org import OrgError, deactivation_refusal, normalise_email
from .settings import TicketCoreSettings

# The agent's PBX extension (issue #6, docs/telephony.md): digits only, 2-16 of them.
PhoneExtension = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{2,16}$",
        description="PBX extension (2-16 digits), unique among agents; null clears it",
    ),
]


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    email: str = Field(max_length=254)
    role: AgentRole = AgentRole.SPECIALIST
    active: bool = True
    phone_extension: PhoneExtension | None = None


class AgentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    email: str | None = Field(default=None, max_length=254)
    role: AgentRole | None = None
    active: bool | None = Field(
        default=None,
        description="false deactivates: refused (409) while the agent has open tickets",
    )
    phone_extension: PhoneExtension | None = None


class AgentOut(BaseModel):
    id: int
    name: str
    email: str
    role: AgentRole
    active: bool
    created_at: datetime
    login: str | None = None
    phone_extension: str | None = None


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    member_ids: list[int] = Field(default_factory=list, max_length=1000)


class GroupPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    member_ids: list[int] | None = Field(default=None, max_length=1000)


class GroupOut(BaseModel):
    id: int
    name: str
    member_ids: list[int]
    created_at: datetime


def _agent_values(body: AgentIn | AgentPatch) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True, exclude_none=True)
    if "phone_extension" in body.model_fields_set and body.phone_extension is None:
        values["phone_extension"] = None  # an explicit null clears the extension
    if "email" in values:
        try:
            values["email"] = normalise_email(values["email"])
        except OrgError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
    return values


def _duplicate(exc: IntegrityError, values: dict[str, Any]) -> str:
    """What a unique violation on an agent row was about (email or phone extension)."""
    if "phone_extension" in str(exc.orig):
        return f"an agent with phone extension {values.get('phone_extension')}"
    return f"an agent with email {values.get('email')}"


async def _check_members(session: AsyncSession, ids: list[int]) -> list[int]:
    wanted = sorted(set(ids))
    found = {
        int(i) for (i,) in await session.execute(select(agents.c.id).where(agents.c.id.in_(wanted)))
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        raise HTTPException(status_code=422, detail=f"agent(s) {missing} do not exist")
    return wanted


async def _groups_out(session: AsyncSession, rows: list[dict[str, Any]]) -> list[GroupOut]:
    members = await orepo.members_of(session, (r["id"] for r in rows))
    return [GroupOut(**r, member_ids=members.get(r["id"], [])) for r in rows]


async def create_agent_row(sessions: async_sessionmaker[AsyncSession], body: AgentIn) -> AgentOut:
    """Store a new agent (the API's and the console's path): 422, 409 on a duplicate."""
    values = _agent_values(body)
    try:
        async with sessions() as session, session.begin():
            return AgentOut(**await crud.create(session, agents, values))
    except IntegrityError as exc:
        refused(exc, _duplicate(exc, values))


async def change_agent(
    sessions: async_sessionmaker[AsyncSession],
    agent_id: int,
    body: AgentPatch,
    on_change: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
) -> AgentOut:
    """Change an agent: 404, 422, 409 (a duplicate, or deactivating an agent who is
    responsible for Open or Pending tickets, naming them)."""
    values = _agent_values(body)
    try:
        async with sessions() as session, session.begin():
            # The row lock makes a concurrent assignment wait (or fail) until we are done.
            current = await orepo.lock_agent(session, agent_id)
            if current is None:
                not_found("agent", agent_id)
            if values.get("active") is False and current["active"]:
                count, numbers = await orepo.unfinished_tickets_of(session, agent_id)
                refusal = deactivation_refusal(agent_id, count, numbers)
                if refusal:
                    raise HTTPException(status_code=409, detail=refusal)
            row = await crud.change(session, agents, agent_id, values)
            assert row is not None
    except IntegrityError as exc:
        refused(exc, _duplicate(exc, values))
    if on_change is not None:
        await on_change(row)
    return AgentOut(**row)


async def create_group_row(sessions: async_sessionmaker[AsyncSession], body: GroupIn) -> GroupOut:
    try:
        async with sessions() as session, session.begin():
            members = await _check_members(session, body.member_ids)
            row = await crud.create(session, groups, {"name": body.name})
            await orepo.set_members(session, row["id"], members)
            return (await _groups_out(session, [row]))[0]
    except IntegrityError as exc:
        refused(exc, f"group {body.name!r}")


async def change_group(
    sessions: async_sessionmaker[AsyncSession], group_id: int, body: GroupPatch
) -> GroupOut:
    values = body.model_dump(exclude_unset=True, exclude_none=True, exclude={"member_ids"})
    try:
        async with sessions() as session, session.begin():
            row = await crud.change(session, groups, group_id, values)
            if row is None:
                not_found("group", group_id)
            if body.member_ids is not None:
                members = await _check_members(session, body.member_ids)
                await orepo.set_members(session, group_id, members)
            return (await _groups_out(session, [row]))[0]
    except IntegrityError as exc:
        refused(exc, f"group {body.name!r}")


def agents_router(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    on_change: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
) -> APIRouter:
    """``on_change`` runs after an agent row changed (agent auth: sessions follow)."""
    router = APIRouter(
        prefix="/api/v1", tags=["agents"], dependencies=[Depends(bearer_auth(settings))]
    )

    @router.get("/agents", response_model=Page[AgentOut])
    async def list_agents(
        active: bool | None = None,
        role: AgentRole | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[AgentOut]:
        where = []
        if active is not None:
            where.append(agents.c.active.is_(active))
        if role is not None:
            where.append(agents.c.role == role.value)
        async with sessions() as session:
            total, rows = await crud.page(
                session, agents, where=where, order_by=[agents.c.name], limit=limit, offset=offset
            )
        return Page(total=total, items=[AgentOut(**r) for r in rows])

    @router.get("/agents/{agent_id}", response_model=AgentOut)
    async def get_agent(agent_id: int) -> AgentOut:
        async with sessions() as session:
            row = await crud.get(session, agents, agent_id)
        if row is None:
            not_found("agent", agent_id)
        return AgentOut(**row)

    @router.post("/agents", response_model=AgentOut, status_code=201)
    async def create_agent(body: AgentIn) -> AgentOut:
        return await create_agent_row(sessions, body)

    @router.patch("/agents/{agent_id}", response_model=AgentOut)
    async def patch_agent(agent_id: int, body: AgentPatch) -> AgentOut:
        return await change_agent(sessions, agent_id, body, on_change)

    @router.get("/groups", response_model=Page[GroupOut])
    async def list_groups(limit: Limit = 50, offset: Offset = 0) -> Page[GroupOut]:
        async with sessions() as session:
            total, rows = await crud.page(
                session, groups, order_by=[groups.c.name], limit=limit, offset=offset
            )
            return Page(total=total, items=await _groups_out(session, rows))

    @router.get("/groups/{group_id}", response_model=GroupOut)
    async def get_group(group_id: int) -> GroupOut:
        async with sessions() as session:
            row = await crud.get(session, groups, group_id)
            if row is None:
                not_found("group", group_id)
            return (await _groups_out(session, [row]))[0]

    @router.post("/groups", response_model=GroupOut, status_code=201)
    async def create_group(body: GroupIn) -> GroupOut:
        return await create_group_row(sessions, body)

    @router.patch("/groups/{group_id}", response_model=GroupOut)
    async def patch_group(group_id: int, body: GroupPatch) -> GroupOut:
        return await change_group(sessions, group_id, body)

    @router.delete("/groups/{group_id}", status_code=204)
    async def delete_group(group_id: int) -> Response:
        try:
            async with sessions() as session, session.begin():
                if not await crud.remove(session, groups, group_id):
                    not_found("group", group_id)
        except IntegrityError as exc:
            refused(exc, f"group {group_id}")
        return Response(status_code=204)

    return router
