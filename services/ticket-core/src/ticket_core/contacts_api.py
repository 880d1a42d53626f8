"""Contacts over HTTP (directory class: every agent reads, administrators and lead
specialists write). Rules of identities and the primary email/phone: ``contact_rules``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, NoReturn

from fastapi import APIRouter, Depends, HTTPException, Response
from helpdesk_common.logs import get_logger
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import contacts_repo as crepo
from . import crud
from .api_common import Limit, Offset, Page, bearer_auth, not_found, refused
from .contact_rules import (
    SAME_VALUE_KINDS,
    ContactError,
    lookup_value,
    normalise,
    primary_after_removal,
    same,
    unique_values,
)
from .repository import Identity, contacts
from .routing_cache import SNAPSHOTS
from .settings import TicketCoreSettings

log = get_logger(__name__)

ContactName = Field(default="", max_length=200, description="The contact's display name.")
MAX_VALUES = 20


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = ContactName
    emails: list[str] = Field(default_factory=list, max_length=MAX_VALUES)
    phones: list[str] = Field(
        default_factory=list,
        max_length=MAX_VALUES,
        description="Any format; stored in E.164 (national numbers in the default country).",
    )
    company_id: int | None = None
    manager_agent_id: int | None = Field(default=None, description="The responsible manager.")


class ContactPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200, description="null clears it.")
    company_id: int | None = Field(default=None, description="null clears it.")
    manager_agent_id: int | None = Field(default=None, description="null clears it.")


class IdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["email", "phone"]
    value: str = Field(min_length=1, max_length=254)


class IdentityOut(BaseModel):
    kind: str
    value: str


class ContactOut(BaseModel):
    id: int
    name: str
    email: str | None = Field(description="The primary email (one of emails).")
    phone: str | None = Field(description="The primary phone (one of phones).")
    emails: list[str]
    phones: list[str]
    identities: list[IdentityOut] = Field(
        description="Messenger and channel identities (telegram, webform, sms...)."
    )
    company_id: int | None
    company_name: str | None
    manager_agent_id: int | None
    manager_name: str | None
    ticket_count: int
    created_at: datetime


async def _out(session: AsyncSession, rows: list[dict[str, Any]]) -> list[ContactOut]:
    ids = [int(r["id"]) for r in rows]
    known = await crepo.identities_of(session, ids)
    counts = await crepo.ticket_counts(session, ids)
    company = await crepo.company_names(session, (r["company_id"] for r in rows))
    manager = await crepo.agent_names(session, (r["manager_agent_id"] for r in rows))
    found = []
    for r in rows:
        pairs = known[int(r["id"])]
        emails = [v for k, v in pairs if k == "email"]
        phones = [v for k, v in pairs if k == "phone"]
        # a primary value from before identities were kept (none recorded for it)
        if r["email"] and not any(same("email", r["email"], e) for e in emails):
            emails.insert(0, r["email"])
        if r["phone"] and r["phone"] not in phones:
            phones.insert(0, r["phone"])
        found.append(
            ContactOut(
                id=r["id"],
                name=r["display_name"],
                email=r["email"],
                phone=r["phone"],
                emails=unique_values(emails),
                phones=unique_values(phones),
                identities=[
                    IdentityOut(kind=k, value=v) for k, v in pairs if k not in ("email", "phone")
                ],
                company_id=r["company_id"],
                company_name=company.get(r["company_id"]) if r["company_id"] else None,
                manager_agent_id=r["manager_agent_id"],
                manager_name=manager.get(r["manager_agent_id"]) if r["manager_agent_id"] else None,
                ticket_count=counts.get(int(r["id"]), 0),
                created_at=r["created_at"],
            )
        )
    return found


def _unprocessable(detail: str) -> HTTPException:
    return HTTPException(status_code=422, detail=detail)


async def _check_refs(session: AsyncSession, values: dict[str, Any]) -> None:
    company_id = values.get("company_id")
    if company_id is not None and not await crepo.company_exists(session, company_id):
        raise _unprocessable(f"company {company_id} does not exist")
    agent_id = values.get("manager_agent_id")
    if agent_id is not None and not await crepo.agent_active(session, agent_id):
        raise _unprocessable(f"agent {agent_id} does not exist or is deactivated")


async def _check_free(
    session: AsyncSession, contact_id: int | None, pairs: list[Identity]
) -> list[Identity]:
    """409 when a value belongs to another contact; returns the pairs still to add."""
    taken = await crepo.owners(session, pairs)
    for (kind, value), owner in taken.items():
        if owner != contact_id:
            raise HTTPException(
                status_code=409, detail=f"{kind} {value} already belongs to contact {owner}"
            )
    return [p for p in pairs if p not in taken]


def _taken_meanwhile(exc: IntegrityError) -> NoReturn:
    """A race lost after the checks: a value taken, or a company/agent just deleted."""
    original = getattr(exc.orig, "__cause__", None) or exc.orig
    if str(getattr(original, "sqlstate", "") or "") == "23505":
        raise HTTPException(
            status_code=409, detail="one of the values was just taken by another contact"
        ) from exc
    refused(exc, "contact")


def contacts_router(
    settings: TicketCoreSettings, sessions: async_sessionmaker[AsyncSession]
) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1", tags=["contacts"], dependencies=[Depends(bearer_auth(settings))]
    )
    country = settings.default_phone_country

    def values_of(kind: str, raw: list[str]) -> list[str]:
        try:
            return unique_values([normalise(kind, v, country) for v in raw])
        except ContactError as exc:
            raise _unprocessable(str(exc)) from exc

    async def one(session: AsyncSession, contact_id: int) -> ContactOut:
        row = await crud.get(session, contacts, contact_id)
        if row is None:
            not_found("contact", contact_id)
        return (await _out(session, [row]))[0]

    @router.get("/contacts", response_model=Page[ContactOut])
    async def list_contacts(
        q: str | None = None,
        company_id: int | None = None,
        email: str | None = None,
        phone: str | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ContactOut]:
        """Newest first. ``q``: part of the name, an email or a phone (case-insensitive);
        ``email``: exact; ``phone``: any format, compared in E.164."""
        number = None
        if phone is not None:
            try:
                number = normalise("phone", phone, country)
            except ContactError as exc:
                raise _unprocessable(str(exc)) from exc
        where = crepo.list_filters(
            q=q.strip() if q else None,
            company_id=company_id,
            email=email.strip().lower() if email is not None else None,
            phone=number,
        )
        async with sessions() as session:
            total, rows = await crud.page(
                session,
                contacts,
                where=where,
                order_by=[contacts.c.created_at.desc(), contacts.c.id.desc()],
                limit=limit,
                offset=offset,
            )
            return Page(total=total, items=await _out(session, rows))

    @router.get("/contacts/{contact_id}", response_model=ContactOut)
    async def get_contact(contact_id: int) -> ContactOut:
        async with sessions() as session:
            return await one(session, contact_id)

    @router.post("/contacts", response_model=ContactOut, status_code=201)
    async def create_contact(body: ContactIn) -> ContactOut:
        emails, phones = values_of("email", body.emails), values_of("phone", body.phones)
        name = body.name.strip()
        if not (name or emails or phones):
            raise _unprocessable("a contact needs a name, an email or a phone")
        values = {
            "display_name": name,
            "email": emails[0] if emails else None,
            "phone": phones[0] if phones else None,
            "company_id": body.company_id,
            "manager_agent_id": body.manager_agent_id,
        }
        pairs = [("email", e) for e in emails] + [("phone", p) for p in phones]
        try:
            async with sessions() as session, session.begin():
                await _check_refs(session, values)
                await _check_free(session, None, pairs)
                row = await crud.create(session, contacts, values)
                await crepo.add_identities(session, int(row["id"]), pairs)
                created = (await _out(session, [row]))[0]
        except IntegrityError as exc:
            _taken_meanwhile(exc)
        if body.manager_agent_id is not None:
            SNAPSHOTS.invalidate()  # a contact card for routing
        log.info("contact created", contact_id=created.id)
        return created

    @router.patch("/contacts/{contact_id}", response_model=ContactOut)
    async def patch_contact(contact_id: int, body: ContactPatch) -> ContactOut:
        given = body.model_dump(exclude_unset=True)
        values = {k: v for k, v in given.items() if k != "name"}
        if "name" in given:
            values["display_name"] = (given["name"] or "").strip()
        async with sessions() as session, session.begin():
            await _check_refs(session, values)
            if await crud.change(session, contacts, contact_id, values) is None:
                not_found("contact", contact_id)
            changed = await one(session, contact_id)
        if "manager_agent_id" in values:
            SNAPSHOTS.invalidate()
        return changed

    @router.post("/contacts/{contact_id}/identities", response_model=ContactOut)
    async def add_identity(contact_id: int, body: IdentityIn, response: Response) -> ContactOut:
        """Adds an email or phone (201; 200 when the contact has it already). A contact
        without a primary email/phone gets this one as its primary."""
        (value,) = values_of(body.kind, [body.value])
        try:
            async with sessions() as session, session.begin():
                row = await crepo.lock_contact(session, contact_id)
                if row is None:
                    not_found("contact", contact_id)
                new = await _check_free(session, contact_id, [(body.kind, value)])
                await crepo.add_identities(session, contact_id, new)
                if not row[body.kind]:
                    await crepo.set_columns(session, contact_id, {body.kind: value})
                found = await one(session, contact_id)
        except IntegrityError as exc:
            _taken_meanwhile(exc)
        response.status_code = 201 if new else 200
        return found

    @router.delete("/contacts/{contact_id}/identities/{kind}/{value:path}", status_code=204)
    async def remove_identity(contact_id: int, kind: str, value: str) -> Response:
        """Removes an identity: an email also drops the web-form identity of the same
        address, a phone the SMS one. Removing the primary email/phone promotes the
        contact's oldest remaining one (or clears it)."""
        stored = lookup_value(kind, value, country)
        kinds = SAME_VALUE_KINDS.get(kind, (kind,))
        async with sessions() as session, session.begin():
            row = await crepo.lock_contact(session, contact_id)
            if row is None:
                not_found("contact", contact_id)
            removed = await crepo.remove_identities(session, contact_id, kinds, stored)
            primary_hit = kind in SAME_VALUE_KINDS and same(kind, row[kind], stored)
            if not removed and not primary_hit:
                raise HTTPException(
                    status_code=404, detail=f"contact {contact_id} has no {kind} {stored}"
                )
            if kind in SAME_VALUE_KINDS:
                known = (await crepo.identities_of(session, [contact_id]))[contact_id]
                left = [v for k, v in known if k == kind]
                primary = primary_after_removal(kind, row[kind], stored, left)
                if primary != row[kind]:
                    await crepo.set_columns(session, contact_id, {kind: primary})
        return Response(status_code=204)

    return router
