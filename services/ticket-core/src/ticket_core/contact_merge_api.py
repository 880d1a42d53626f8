"""Merging and deleting contacts over HTTP (directory class: administrators and lead
specialists; services). The work itself: ``contact_merge``.

- ``POST /api/v1/contacts/{contact_id}/merge-into/{target_id}``: 200 with the target and
  what moved; 422 merging into itself, 404 a missing contact, 409 both with a portal
  account.
- ``DELETE /api/v1/contacts/{contact_id}``: 204; 409 while it has tickets or messages.
- ``GET /api/v1/contacts/{contact_id}/audit``: merges into the contact and the record
  of a contact that is gone (paginated).

After a merge or deletion the routing snapshot of this process is invalidated (contact
cards) and the gone contact's portal sessions end.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Response
from helpdesk_common.agent_sessions import AgentSessions
from helpdesk_common.logs import get_logger
from pydantic import BaseModel
from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import contact_merge_repo as mrepo
from . import crud
from . import workflow_repo as wrepo
from .api_common import Limit, Offset, OptionalAgent, Page, bearer_auth, not_found, refused
from .audit import SYSTEM, Actor
from .contact_merge import ContactMissing, delete_contact, merge_contacts
from .contact_merge_rules import MergeConflict, MergeError
from .contacts_api import ContactOut
from .contacts_api import _out as contact_out
from .outbox import OutboxRelay
from .repository import contacts
from .routing_cache import SNAPSHOTS
from .settings import TicketCoreSettings

log = get_logger(__name__)


class MergeOut(BaseModel):
    contact: ContactOut
    merged_contact_id: int
    moved_identities: int
    moved_ticket_ids: list[int]
    moved_messages: int
    moved_portal_account: bool
    filled_fields: list[str]


class ContactAuditOut(BaseModel):
    id: int
    contact_id: int
    action: str
    target_contact_id: int | None
    agent_id: int | None
    snapshot: dict[str, Any]
    created_at: datetime


def contact_merge_router(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    portal_sessions: AgentSessions,
) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1", tags=["contacts"], dependencies=[Depends(bearer_auth(settings))]
    )

    async def actor_of(session: AsyncSession, agent: int | None) -> Actor:
        if agent is None:
            return SYSTEM
        if not await wrepo.active_agents(session, [agent]):
            raise HTTPException(
                status_code=403, detail=f"agent {agent} does not exist or is deactivated"
            )
        return Actor.agent(agent)

    async def end_portal_sessions(contact_id: int) -> None:
        try:
            await portal_sessions.revoke_agent(contact_id)
        except RedisError as exc:  # the portal also checks the account on every request
            log.warning("portal_session_store_unavailable", error=type(exc).__name__)

    @router.post("/contacts/{contact_id}/merge-into/{target_id}", response_model=MergeOut)
    async def merge(contact_id: int, target_id: int, agent: OptionalAgent) -> MergeOut:
        now = datetime.now(UTC)
        try:
            async with sessions() as session, session.begin():
                actor = await actor_of(session, agent)
                result = await merge_contacts(session, contact_id, target_id, actor, now)
                row = await crud.get(session, contacts, target_id)
                assert row is not None
                target = (await contact_out(session, [row]))[0]
        except MergeError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        except ContactMissing as exc:
            not_found("contact", exc.contact_id)
        except MergeConflict as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from exc
        except IntegrityError as exc:
            refused(exc, f"contact {contact_id}")
        SNAPSHOTS.invalidate()
        await end_portal_sessions(contact_id)
        await relay.flush_quietly(result.outbox_ids)
        log.info(
            "contact_merged",
            contact_id=contact_id,
            target_id=target_id,
            tickets=len(result.ticket_ids),
            identities=result.identities,
        )
        return MergeOut(
            contact=target,
            merged_contact_id=contact_id,
            moved_identities=result.identities,
            moved_ticket_ids=result.ticket_ids,
            moved_messages=result.messages,
            moved_portal_account=result.portal_account,
            filled_fields=result.filled,
        )

    @router.delete("/contacts/{contact_id}", status_code=204)
    async def remove(contact_id: int, agent: OptionalAgent) -> Response:
        try:
            async with sessions() as session, session.begin():
                actor = await actor_of(session, agent)
                await delete_contact(session, contact_id, actor, datetime.now(UTC))
        except ContactMissing as exc:
            not_found("contact", exc.contact_id)
        except MergeConflict as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from exc
        except IntegrityError as exc:
            refused(exc, f"contact {contact_id}")
        SNAPSHOTS.invalidate()
        await end_portal_sessions(contact_id)
        log.info("contact_deleted", contact_id=contact_id)
        return Response(status_code=204)

    @router.get("/contacts/{contact_id}/audit", response_model=Page[ContactAuditOut])
    async def contact_audit(
        contact_id: int, limit: Limit = 50, offset: Offset = 0
    ) -> Page[ContactAuditOut]:
        """Oldest first: contacts merged into this one, or this contact's own merge or
        deletion (kept after it is gone)."""
        async with sessions() as session:
            total, rows = await mrepo.audit_of(session, contact_id, limit, offset)
            if not total and await crud.get(session, contacts, contact_id) is None:
                not_found("contact", contact_id)
        return Page(total=total, items=[ContactAuditOut(**r) for r in rows])

    return router
