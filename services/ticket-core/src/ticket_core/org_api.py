"""Companies and company categories over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import crud
from . import org_repo as orepo
from .api_common import Limit, Name, Offset, Page, bearer_auth, not_found, refused
from .models_org import agents, categories, companies
from .org import OrgError, normalise_domains, normalise_email
from .settings import TicketCoreSettings


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


class CategoryOut(BaseModel):
    id: int
    name: str


class CompanyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    domains: list[str] = Field(default_factory=list, description="Mail domains, e.g. acme.com.")
    category: Name = Field(default="Client", description="A company category's name.")
    manager_agent_id: int | None = Field(default=None, description="The responsible manager.")
    notification_email: str | None = Field(
        default=None, max_length=254, description="Gets copies of the company's notifications."
    )


class CompanyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    domains: list[str] | None = None
    category: Name | None = None
    manager_agent_id: int | None = None
    notification_email: str | None = Field(default=None, max_length=254)


class CompanyOut(BaseModel):
    id: int
    name: str
    domains: list[str]
    category: str
    manager_agent_id: int | None
    notification_email: str | None
    created_at: datetime


async def _category_id(session: AsyncSession, name: str) -> int:
    found = await session.scalar(select(categories.c.id).where(categories.c.name == name))
    if found is None:
        raise HTTPException(status_code=422, detail=f"company category {name!r} does not exist")
    return int(found)


async def _check_manager(session: AsyncSession, agent_id: int | None) -> None:
    if agent_id is None:
        return
    active = await session.scalar(select(agents.c.active).where(agents.c.id == agent_id))
    if not active:
        raise HTTPException(
            status_code=422, detail=f"agent {agent_id} does not exist or is deactivated"
        )


async def _out(session: AsyncSession, rows: list[dict[str, Any]]) -> list[CompanyOut]:
    domains = await orepo.domains_of(session, (r["id"] for r in rows))
    rows_ = await session.execute(select(categories.c.id, categories.c.name))
    names: dict[int, str] = {int(i): str(n) for i, n in rows_}
    return [
        CompanyOut(**r, domains=domains.get(r["id"], []), category=names[r["category_id"]])
        for r in rows
    ]


def _values(body: CompanyIn | CompanyPatch) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True, exclude={"domains", "category"})
    if values.get("notification_email"):
        values["notification_email"] = normalise_email(values["notification_email"])
    return values


def company_categories_router(
    settings: TicketCoreSettings, sessions: async_sessionmaker[AsyncSession]
) -> APIRouter:
    """Company categories: settings (administrators write them)."""
    router = APIRouter(
        prefix="/api/v1", tags=["companies"], dependencies=[Depends(bearer_auth(settings))]
    )

    @router.get("/company-categories", response_model=Page[CategoryOut])
    async def list_categories(limit: Limit = 50, offset: Offset = 0) -> Page[CategoryOut]:
        async with sessions() as session:
            total, rows = await crud.page(session, categories, limit=limit, offset=offset)
        return Page(total=total, items=[CategoryOut(**r) for r in rows])

    @router.post("/company-categories", response_model=CategoryOut, status_code=201)
    async def create_category(body: CategoryIn) -> CategoryOut:
        try:
            async with sessions() as session, session.begin():
                return CategoryOut(**await crud.create(session, categories, body.model_dump()))
        except IntegrityError as exc:
            refused(exc, f"company category {body.name!r}")

    @router.delete("/company-categories/{category_id}", status_code=204)
    async def delete_category(category_id: int) -> Response:
        try:
            async with sessions() as session, session.begin():
                if not await crud.remove(session, categories, category_id):
                    not_found("company category", category_id)
        except IntegrityError as exc:
            refused(exc, f"company category {category_id}")
        return Response(status_code=204)

    return router


def org_router(
    settings: TicketCoreSettings, sessions: async_sessionmaker[AsyncSession]
) -> APIRouter:
    """Companies and their domains."""
    router = APIRouter(
        prefix="/api/v1", tags=["companies"], dependencies=[Depends(bearer_auth(settings))]
    )

    @router.get("/companies", response_model=Page[CompanyOut])
    async def list_companies(
        q: str | None = None, limit: Limit = 50, offset: Offset = 0
    ) -> Page[CompanyOut]:
        where = [companies.c.name.icontains(q, autoescape=True)] if q else []
        async with sessions() as session:
            total, rows = await crud.page(
                session,
                companies,
                where=where,
                order_by=[companies.c.name],
                limit=limit,
                offset=offset,
            )
            return Page(total=total, items=await _out(session, rows))

    @router.get("/companies/{company_id}", response_model=CompanyOut)
    async def get_company(company_id: int) -> CompanyOut:
        async with sessions() as session:
            row = await crud.get(session, companies, company_id)
            if row is None:
                not_found("company", company_id)
            return (await _out(session, [row]))[0]

    @router.post("/companies", response_model=CompanyOut, status_code=201)
    async def create_company(body: CompanyIn) -> CompanyOut:
        try:
            domains = normalise_domains(body.domains)
            values = _values(body)
        except OrgError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        try:
            async with sessions() as session, session.begin():
                values["category_id"] = await _category_id(session, body.category)
                await _check_manager(session, body.manager_agent_id)
                row = await crud.create(session, companies, values)
                await orepo.set_domains(session, row["id"], domains)
                return (await _out(session, [row]))[0]
        except IntegrityError as exc:
            refused(exc, f"company {body.name!r} or one of its domains")

    @router.patch("/companies/{company_id}", response_model=CompanyOut)
    async def patch_company(company_id: int, body: CompanyPatch) -> CompanyOut:
        try:
            domains = normalise_domains(body.domains) if body.domains is not None else None
            values = _values(body)
        except OrgError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        try:
            async with sessions() as session, session.begin():
                if body.category is not None:
                    values["category_id"] = await _category_id(session, body.category)
                if body.manager_agent_id is not None:
                    await _check_manager(session, body.manager_agent_id)
                row = await crud.change(session, companies, company_id, values)
                if row is None:
                    not_found("company", company_id)
                if domains is not None:
                    await orepo.set_domains(session, company_id, domains)
                return (await _out(session, [row]))[0]
        except IntegrityError as exc:
            refused(exc, f"company {company_id}'s name or one of its domains")

    @router.delete("/companies/{company_id}", status_code=204)
    async def delete_company(company_id: int) -> Response:
        try:
            async with sessions() as session, session.begin():
                if not await crud.remove(session, companies, company_id):
                    not_found("company", company_id)
        except IntegrityError as exc:
            refused(exc, f"company {company_id}")
        return Response(status_code=204)

    return router
