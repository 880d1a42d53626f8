"""Ticket links over HTTP (ticket class: a specialist reaches only tickets they may see;
the other ticket of a new or removed link must be one they may change, else 404).

- ``GET /api/v1/tickets/{ticket_id}/links``: both directions, ingestion-made ones too.
- ``POST /api/v1/tickets/{ticket_id}/links`` ``{"kind", "linked_ticket_id"}``: 201.
- ``DELETE /api/v1/tickets/{ticket_id}/links/{kind}/{linked_ticket_id}``: 204.
- ``POST /api/v1/tickets/{ticket_id}/merge-into/{target_id}``: the ticket is a duplicate
  of the target: linked, noted, resolved (``ticket_merge``).

Rules: ``ticket_links_rules``; the change with its audit rows and events: ``ticket_links``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import ticket_links_repo as lrepo
from . import workflow_repo as wrepo
from .access import principal_of
from .api import visibility
from .api_common import ActingAgent, Limit, Offset, Page, bearer_auth, not_found
from .audit import Actor
from .outbox import OutboxRelay
from .settings import TicketCoreSettings
from .ticket_links import LinkConflict, LinkResult, TicketMissing, add_link, remove_link
from .ticket_links_rules import INVERSE, MANUAL_KINDS, LinkError, seen_from
from .ticket_merge import merge_ticket

KIND_DOC = (
    "As the ticket in the path sees it: related, parent (the other ticket is its parent), "
    "child, duplicate_of (this ticket duplicates the other), duplicated_by."
)


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(min_length=1, max_length=40, description=KIND_DOC)
    linked_ticket_id: int = Field(ge=1, description="The other ticket.")


class MergeOut(BaseModel):
    ticket_id: int
    merged_into_ticket_id: int
    linked: bool = Field(description="false: the duplicate_of link existed already.")
    resolved: bool = Field(description="false: the ticket was Resolved or Closed already.")


class LinkOut(BaseModel):
    kind: str = Field(
        description="As this ticket sees it; also follow_up_of / followed_up_by and "
        "possible_duplicate_of / possibly_duplicated_by (made by ingestion, read-only)."
    )
    ticket_id: int
    linked_ticket_id: int
    linked_ticket_number: int
    linked_ticket_subject: str
    linked_ticket_status: str
    manual: bool = Field(description="Made by an agent (removable through this API).")
    created_by_agent_id: int | None = None
    linked_at: datetime | None = None


def ticket_links_router(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1", tags=["tickets"], dependencies=[Depends(bearer_auth(settings))]
    )
    auto_close_after = timedelta(seconds=settings.auto_close_after_seconds)

    async def other_visible(request: Request, other_id: int) -> None:
        access = getattr(request.app.state, "agent_access", None)
        if access is None:
            return
        if other_id not in await access.visible_ticket_ids(principal_of(request), [other_id]):
            not_found("ticket", other_id)

    async def acting(session: AsyncSession, agent: int) -> Actor:
        if not await wrepo.active_agents(session, [agent]):
            raise HTTPException(
                status_code=403, detail=f"agent {agent} does not exist or is deactivated"
            )
        return Actor.agent(agent)

    @router.get("/tickets/{ticket_id}/links", response_model=Page[LinkOut])
    async def list_links(
        ticket_id: int,
        request: Request,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[LinkOut]:
        """Oldest first; for a specialist, only the linked tickets they may read."""
        readable = await visibility(request)
        async with sessions() as session:
            if not await lrepo.tickets_by_id(session, [ticket_id]):
                not_found("ticket", ticket_id)
            total, rows = await lrepo.links_of(
                session, ticket_id, limit=limit, offset=offset, other_filter=readable
            )
        return Page(
            total=total,
            items=[
                LinkOut(
                    kind=r["kind"],
                    ticket_id=ticket_id,
                    linked_ticket_id=r["other_id"],
                    linked_ticket_number=r["number"],
                    linked_ticket_subject=r["subject"],
                    linked_ticket_status=r["status"],
                    manual=r["manual"],
                    created_by_agent_id=r["agent_id"],
                    linked_at=r["linked_at"],
                )
                for r in rows
            ],
        )

    def out(result: LinkResult, ticket_id: int, agent: int, now: datetime) -> LinkOut:
        kind, other_id = seen_from(result.link, ticket_id)
        other = result.tickets[other_id]
        return LinkOut(
            kind=kind,
            ticket_id=ticket_id,
            linked_ticket_id=other_id,
            linked_ticket_number=other["number"],
            linked_ticket_subject=other["subject"],
            linked_ticket_status=other["status"],
            manual=True,
            created_by_agent_id=agent,
            linked_at=now,
        )

    @router.post("/tickets/{ticket_id}/links", response_model=LinkOut, status_code=201)
    async def create_link(
        ticket_id: int, body: LinkIn, agent: ActingAgent, request: Request
    ) -> LinkOut:
        if body.kind not in MANUAL_KINDS and body.kind not in INVERSE:
            raise HTTPException(
                status_code=422,
                detail=f"unknown link kind {body.kind!r}: use one of {', '.join(MANUAL_KINDS)}",
            )
        if body.linked_ticket_id != ticket_id:
            await other_visible(request, body.linked_ticket_id)
        now = datetime.now(UTC)
        try:
            async with sessions() as session, session.begin():
                actor = await acting(session, agent)
                result = await add_link(
                    session, ticket_id, body.kind, body.linked_ticket_id, actor, now
                )
        except LinkError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        except TicketMissing as exc:
            not_found("ticket", exc.ticket_id)
        except LinkConflict as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from exc
        await relay.flush_quietly(result.outbox_ids)
        return out(result, ticket_id, agent, now)

    @router.delete("/tickets/{ticket_id}/links/{kind}/{linked_ticket_id}", status_code=204)
    async def delete_link(
        ticket_id: int, kind: str, linked_ticket_id: int, agent: ActingAgent, request: Request
    ) -> Response:
        if kind not in INVERSE:
            raise HTTPException(status_code=422, detail=f"unknown link kind {kind!r}")
        await other_visible(request, linked_ticket_id)
        try:
            async with sessions() as session, session.begin():
                actor = await acting(session, agent)
                result = await remove_link(
                    session, ticket_id, kind, linked_ticket_id, actor, datetime.now(UTC)
                )
        except LinkError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        except TicketMissing as exc:
            not_found("ticket", exc.ticket_id)
        if result is None:
            raise HTTPException(
                status_code=404,
                detail=f"ticket {ticket_id} has no {kind} link to ticket {linked_ticket_id}",
            )
        await relay.flush_quietly(result.outbox_ids)
        return Response(status_code=204)

    @router.post("/tickets/{ticket_id}/merge-into/{target_id}", response_model=MergeOut)
    async def merge_into(
        ticket_id: int, target_id: int, agent: ActingAgent, request: Request
    ) -> MergeOut:
        """Marks the ticket a duplicate of the target: a ``duplicate_of`` link, a system
        note on both, and an Open or Pending duplicate resolved. Messages stay where they
        are."""
        if target_id != ticket_id:
            await other_visible(request, target_id)
        try:
            async with sessions() as session, session.begin():
                actor = await acting(session, agent)
                result = await merge_ticket(
                    session, ticket_id, target_id, actor, datetime.now(UTC), auto_close_after
                )
        except LinkError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        except TicketMissing as exc:
            not_found("ticket", exc.ticket_id)
        except LinkConflict as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from exc
        await relay.flush_quietly(result.outbox_ids)
        return MergeOut(
            ticket_id=ticket_id,
            merged_into_ticket_id=target_id,
            linked=result.linked,
            resolved=result.resolved,
        )

    return router
