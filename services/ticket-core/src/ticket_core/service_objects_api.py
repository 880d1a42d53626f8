"""Service objects (a café, a shop, a site of a company) and custom ticket attribute
definitions over HTTP. Tickets link to a service object and carry attribute values
through ``PATCH /api/v1/tickets/{id}`` (``service_object_id``, ``custom_attributes``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import crud
from .api_common import Limit, Name, Offset, Page, bearer_auth, not_found, refused
from .custom_attributes import AttributeKind, InvalidAttribute, check_definition
from .models_org import AgentRole, companies
from .models_routing import attribute_definitions, service_objects
from .routing_checks import check_agents
from .settings import TicketCoreSettings

Address = Annotated[str, Field(max_length=1000)]


class ServiceObjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    address: Address = ""
    company_id: int | None = None
    manager_agent_id: int | None = Field(default=None, description="The responsible manager.")


class ServiceObjectPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    address: Address | None = None
    company_id: int | None = None
    manager_agent_id: int | None = None


class ServiceObjectOut(BaseModel):
    id: int
    name: str
    address: str
    company_id: int | None
    manager_agent_id: int | None
    created_at: datetime


class AttributeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=64, description="a-z, 0-9, _; starts with a letter")
    label: Name
    kind: AttributeKind
    options: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=200, description="The choices of a list attribute."
    )
    required_on_create: bool = False
    visible_to_roles: list[AgentRole] = Field(
        default_factory=lambda: list(AgentRole), description="Agent roles that see it."
    )
    visible_to_contact: bool = False
    position: int = Field(default=0, ge=0, le=10_000)


class AttributePatch(BaseModel):
    """The key and the kind are fixed for life (stored values depend on them)."""

    model_config = ConfigDict(extra="forbid")
    label: Name | None = None
    options: list[Annotated[str, Field(max_length=200)]] | None = Field(
        default=None, max_length=200
    )
    required_on_create: bool | None = None
    visible_to_roles: list[AgentRole] | None = None
    visible_to_contact: bool | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)


class AttributeOut(BaseModel):
    id: int
    key: str
    label: str
    kind: AttributeKind
    options: list[str]
    required_on_create: bool
    visible_to_roles: list[AgentRole]
    visible_to_contact: bool
    position: int


async def _check_object(session: AsyncSession, values: dict[str, Any]) -> None:
    if values.get("manager_agent_id") is not None:
        await check_agents(session, [values["manager_agent_id"]])
    company = values.get("company_id")
    if company is not None and await crud.get(session, companies, company) is None:
        raise HTTPException(status_code=422, detail=f"company {company} does not exist")


def _definition(values: dict[str, Any]) -> dict[str, Any]:
    try:
        values["options"] = list(
            check_definition(AttributeKind(values["kind"]), values["options"], values["key"])
        )
    except InvalidAttribute as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    values["visible_to_roles"] = sorted({AgentRole(r).value for r in values["visible_to_roles"]})
    return values


def service_objects_router(
    settings: TicketCoreSettings, sessions: async_sessionmaker[AsyncSession]
) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1", tags=["service objects"], dependencies=[Depends(bearer_auth(settings))]
    )

    @router.get("/service-objects", response_model=Page[ServiceObjectOut])
    async def list_objects(
        company_id: int | None = None, q: str | None = None, limit: Limit = 50, offset: Offset = 0
    ) -> Page[ServiceObjectOut]:
        where: list[Any] = []
        if company_id is not None:
            where.append(service_objects.c.company_id == company_id)
        if q:
            where.append(service_objects.c.name.icontains(q, autoescape=True))
        async with sessions() as session:
            total, rows = await crud.page(
                session,
                service_objects,
                where=where,
                order_by=[service_objects.c.name, service_objects.c.id],
                limit=limit,
                offset=offset,
            )
        return Page(total=total, items=[ServiceObjectOut(**r) for r in rows])

    @router.get("/service-objects/{object_id}", response_model=ServiceObjectOut)
    async def get_object(object_id: int) -> ServiceObjectOut:
        async with sessions() as session:
            row = await crud.get(session, service_objects, object_id)
        if row is None:
            not_found("service object", object_id)
        return ServiceObjectOut(**row)

    @router.post("/service-objects", response_model=ServiceObjectOut, status_code=201)
    async def create_object(body: ServiceObjectIn) -> ServiceObjectOut:
        values = body.model_dump()
        try:
            async with sessions() as session, session.begin():
                await _check_object(session, values)
                return ServiceObjectOut(**await crud.create(session, service_objects, values))
        except IntegrityError as exc:
            refused(exc, f"service object {body.name!r}")

    @router.patch("/service-objects/{object_id}", response_model=ServiceObjectOut)
    async def patch_object(object_id: int, body: ServiceObjectPatch) -> ServiceObjectOut:
        values = body.model_dump(exclude_unset=True)
        for key in ("name", "address"):
            if key in values and values[key] is None:
                raise HTTPException(status_code=422, detail=f"{key} cannot be null")
        try:
            async with sessions() as session, session.begin():
                await _check_object(session, values)
                row = await crud.change(session, service_objects, object_id, values)
                if row is None:
                    not_found("service object", object_id)
                return ServiceObjectOut(**row)
        except IntegrityError as exc:
            refused(exc, f"service object {object_id}")

    @router.delete("/service-objects/{object_id}", status_code=204)
    async def delete_object(object_id: int) -> Response:
        """Refused (409) while tickets link to it."""
        try:
            async with sessions() as session, session.begin():
                if not await crud.remove(session, service_objects, object_id):
                    not_found("service object", object_id)
        except IntegrityError as exc:
            refused(exc, f"service object {object_id}")
        return Response(status_code=204)

    @router.get("/ticket-attributes", response_model=Page[AttributeOut])
    async def list_attributes(limit: Limit = 50, offset: Offset = 0) -> Page[AttributeOut]:
        async with sessions() as session:
            total, rows = await crud.page(
                session,
                attribute_definitions,
                order_by=[attribute_definitions.c.position, attribute_definitions.c.id],
                limit=limit,
                offset=offset,
            )
        return Page(total=total, items=[AttributeOut(**r) for r in rows])

    @router.get("/ticket-attributes/{attribute_id}", response_model=AttributeOut)
    async def get_attribute(attribute_id: int) -> AttributeOut:
        async with sessions() as session:
            row = await crud.get(session, attribute_definitions, attribute_id)
        if row is None:
            not_found("ticket attribute", attribute_id)
        return AttributeOut(**row)

    @router.post("/ticket-attributes", response_model=AttributeOut, status_code=201)
    async def create_attribute(body: AttributeIn) -> AttributeOut:
        values = _definition(body.model_dump(mode="json"))
        try:
            async with sessions() as session, session.begin():
                return AttributeOut(**await crud.create(session, attribute_definitions, values))
        except IntegrityError as exc:
            refused(exc, f"ticket attribute {body.key!r}")

    @router.patch("/ticket-attributes/{attribute_id}", response_model=AttributeOut)
    async def patch_attribute(attribute_id: int, body: AttributePatch) -> AttributeOut:
        """Options may grow or be renamed; values already stored are kept as they are."""
        values = body.model_dump(mode="json", exclude_unset=True, exclude_none=True)
        async with sessions() as session, session.begin():
            current = await crud.get(session, attribute_definitions, attribute_id, lock=True)
            if current is None:
                not_found("ticket attribute", attribute_id)
            merged = _definition({**current, **values})
            changes = {k: merged[k] for k in values}
            row = await crud.change(session, attribute_definitions, attribute_id, changes)
            assert row is not None
            return AttributeOut(**row)

    @router.delete("/ticket-attributes/{attribute_id}", status_code=204)
    async def delete_attribute(attribute_id: int) -> Response:
        """Values stored on tickets stay but are no longer shown nor accepted."""
        async with sessions() as session, session.begin():
            if not await crud.remove(session, attribute_definitions, attribute_id):
                not_found("ticket attribute", attribute_id)
        return Response(status_code=204)

    return router
