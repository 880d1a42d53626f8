"""Agents give contacts portal access (directory class: every agent reads, administrators
and lead specialists change).

``PUT /api/v1/contacts/{contact_id}/portal-access`` ``{"password"?, "access"?, "active"?}``:
the login is the contact's email; a new account needs a password (argon2id, the agents'
policy); a new password or a deactivation ends the contact's portal sessions.
``GET`` shows the account (never the hash); ``DELETE`` withdraws access (deactivates).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Response
from helpdesk_common.agent_sessions import AgentSessions
from helpdesk_common.logs import get_logger
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import passwords, repository
from . import portal_repo as repo
from .api_common import bearer_auth, not_found, refused
from .settings import TicketCoreSettings

log = get_logger(__name__)


class PortalAccessIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str | None = Field(default=None, min_length=1, max_length=passwords.MAX_LENGTH)
    access: Literal["own", "company"] | None = None
    active: bool | None = None


class PortalAccessOut(BaseModel):
    contact_id: int
    login: str
    access: str
    active: bool
    created_at: datetime
    password_changed_at: datetime


def _out(row: dict[str, Any]) -> PortalAccessOut:
    return PortalAccessOut.model_validate(row)


def portal_access_router(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    store: AgentSessions,
) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1/contacts/{contact_id}/portal-access",
        tags=["portal"],
        dependencies=[Depends(bearer_auth(settings))],
    )

    @router.get("", response_model=PortalAccessOut)
    async def get_access(contact_id: int) -> PortalAccessOut:
        async with sessions() as session:
            row = await repo.account_of(session, contact_id)
        if row is None:
            not_found("portal access of contact", contact_id)
        return _out(row)

    @router.put("", response_model=PortalAccessOut)
    async def put_access(contact_id: int, body: PortalAccessIn) -> PortalAccessOut:
        values: dict[str, Any] = {}
        if body.password is not None:
            try:
                values["password_hash"] = await passwords.hash_password_async(body.password)
            except passwords.WeakPassword as exc:
                raise HTTPException(422, str(exc)) from exc
            values["password_changed_at"] = datetime.now(UTC)
        if body.access is not None:
            values["access"] = body.access
        if body.active is not None:
            values["active"] = body.active
        try:
            async with sessions() as session, session.begin():
                contact = await repository.contact_by_id(session, contact_id)
                if contact is None:
                    not_found("contact", contact_id)
                email = (contact["email"] or "").strip().lower()
                if not email:
                    raise HTTPException(422, "the contact has no email: the portal login is one")
                existing = await repo.account_of(session, contact_id)
                if existing is None and "password_hash" not in values:
                    raise HTTPException(422, "a new portal account needs a password")
                if existing is None:
                    values.setdefault("access", "own")
                    values.setdefault("active", True)
                row = await repo.save_account(
                    session, contact_id, email, values, exists=existing is not None
                )
        except IntegrityError as exc:
            refused(exc, "a portal account with this email")
        if "password_hash" in values or not row["active"]:
            await store.revoke_agent(contact_id)
        log.info("portal_access_set", contact_id=contact_id, fields=sorted(values))
        return _out(row)

    @router.delete("", status_code=204)
    async def withdraw(contact_id: int) -> Response:
        async with sessions() as session, session.begin():
            found = await repo.set_active(session, contact_id, False)
        if not found:
            not_found("portal access of contact", contact_id)
        await store.revoke_agent(contact_id)
        return Response(status_code=204)

    return router
