"""Changing tickets over HTTP: one ticket (PATCH), many (bulk), and the audit trail.

The acting agent is the logged-in agent, or the ``X-Agent-Id`` header when a service calls
with the API token (``api_common.acting_agent``); the agent must exist and be active (403
otherwise). A specialist's bulk change skips the tickets they may not see ("ticket not
found").
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import repository as repo
from . import ticket_fields
from . import workflow_repo as wrepo
from .access import principal_of
from .api import TicketOut, ticket_detail
from .api_common import ActingAgent, Limit, Offset, Page, bearer_auth, not_found
from .audit import Actor, audit_page
from .models import TicketStatus as Category
from .outbox import OutboxRelay
from .settings import TicketCoreSettings
from .workflow import KEEP, ChangeRequest, Outcome, WorkflowError, apply_changes

AgentHeader = ActingAgent  # the logged-in agent, or X-Agent-Id under the service token
_NOT_NULL = ("status_id", "status", "pending_until", "priority_id")
_NULLABLE = (
    "type_id",
    "responsible_agent_id",
    "responsible_group_id",
    "reaction_due_at",
    "resolution_due_at",
    "service_object_id",
)


class TicketChange(BaseModel):
    """Only the fields given change; ``null`` clears the type and the responsible ones."""

    model_config = ConfigDict(extra="forbid")
    status_id: int | None = Field(default=None, description="A custom status.")
    status: Category | None = Field(
        default=None, description="A category: moves to its default custom status."
    )
    pending_until: AwareDatetime | None = Field(
        default=None, description="Required to enter a pending status; must be in the future."
    )
    priority_id: int | None = None
    type_id: int | None = None
    responsible_agent_id: int | None = None
    responsible_group_id: int | None = None
    observer_agent_ids: list[int] | None = Field(
        default=None, max_length=100, description="Replaces the observing agents."
    )
    observer_group_ids: list[int] | None = Field(
        default=None, max_length=100, description="Replaces the observing groups."
    )
    reaction_due_at: AwareDatetime | None = Field(
        default=None, description="SLA: planned reaction time set by hand (null clears it)."
    )
    resolution_due_at: AwareDatetime | None = Field(
        default=None, description="SLA: planned resolution time set by hand (null clears it)."
    )
    service_object_id: int | None = Field(default=None, description="null unlinks.")
    custom_attributes: dict[str, Any] | None = Field(
        default=None,
        max_length=100,
        description="Custom attribute values by key; a null value removes the attribute.",
    )

    def request(self) -> ChangeRequest:
        given = self.model_fields_set
        for name in (*_NOT_NULL, "observer_agent_ids", "observer_group_ids", "custom_attributes"):
            if name in given and getattr(self, name) is None:
                raise HTTPException(status_code=422, detail=f"{name} cannot be null")
        nullable: dict[str, Any] = {n: getattr(self, n) if n in given else KEEP for n in _NULLABLE}
        return ChangeRequest(
            status_id=self.status_id,
            status=self.status.value if self.status else None,
            pending_until=self.pending_until,
            priority_id=self.priority_id,
            observer_agent_ids=_ids(self.observer_agent_ids),
            observer_group_ids=_ids(self.observer_group_ids),
            custom_attributes=self.custom_attributes,
            **nullable,
        )


def _ids(values: list[int] | None) -> frozenset[int] | None:
    return frozenset(values) if values is not None else None


class BulkChange(TicketChange):
    ticket_ids: list[int] = Field(min_length=1, max_length=500)


class BulkFailure(BaseModel):
    ticket_id: int
    error: str


class BulkResult(BaseModel):
    updated: list[int]
    unchanged: list[int]
    failed: list[BulkFailure]


class AuditOut(BaseModel):
    id: int
    ticket_id: int
    actor: str
    agent_id: int | None
    field: str
    old_value: str | None
    new_value: str | None
    reason: str | None
    created_at: datetime


def workflow_router(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1", tags=["tickets"], dependencies=[Depends(bearer_auth(settings))]
    )
    auto_close_after = timedelta(seconds=settings.auto_close_after_seconds)

    async def change(
        session: AsyncSession, ids: list[int], body: TicketChange, agent: int
    ) -> Outcome:
        if not await wrepo.active_agents(session, [agent]):
            raise HTTPException(
                status_code=403, detail=f"agent {agent} does not exist or is deactivated"
            )
        request = replace(body.request(), role=await ticket_fields.role_of(session, agent))
        try:
            return await apply_changes(
                session,
                ids,
                request,
                Actor.agent(agent),
                now=datetime.now(UTC),
                auto_close_after=auto_close_after,
            )
        except WorkflowError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc

    @router.patch("/tickets/{ticket_id}", response_model=TicketOut, summary="Change a ticket")
    async def patch_ticket(
        ticket_id: int, body: TicketChange, x_agent_id: AgentHeader
    ) -> TicketOut:
        async with sessions() as session:
            async with session.begin():
                outcome = await change(session, [ticket_id], body, x_agent_id)
                if ticket_id in outcome.failed:
                    error = outcome.failed[ticket_id]
                    if error == "ticket not found":
                        not_found("ticket", ticket_id)
                    raise HTTPException(status_code=422, detail=error)
            relay.notify()
            ticket = await ticket_detail(session, ticket_id)
            await ticket_fields.hide_attributes(session, [ticket], x_agent_id)
            return ticket

    @router.post("/tickets/bulk", response_model=BulkResult, summary="Change many tickets")
    async def bulk_change(
        body: BulkChange, x_agent_id: AgentHeader, request: Request
    ) -> BulkResult:
        """Applies the change to each ticket it is allowed on; the others are listed with
        the reason (a ticket missing, a transition the rules refuse)."""
        access = getattr(request.app.state, "agent_access", None)
        ids = list(body.ticket_ids)
        hidden: dict[int, str] = {}
        if access is not None:
            visible = await access.visible_ticket_ids(principal_of(request), ids)
            hidden = {t: "ticket not found" for t in ids if t not in visible}
            ids = [t for t in ids if t in visible]
        async with sessions() as session, session.begin():
            outcome = await change(session, ids, body, x_agent_id)
        relay.notify()
        failed = {**outcome.failed, **hidden}
        return BulkResult(
            updated=outcome.updated,
            unchanged=outcome.unchanged,
            failed=[BulkFailure(ticket_id=t, error=e) for t, e in failed.items()],
        )

    @router.get("/tickets/{ticket_id}/audit", response_model=Page[AuditOut])
    async def ticket_audit(ticket_id: int, limit: Limit = 50, offset: Offset = 0) -> Page[AuditOut]:
        """Every change to the ticket, oldest first: who (agent, system, customer), what."""
        async with sessions() as session:
            if await repo.ticket_by_id(session, ticket_id) is None:
                not_found("ticket", ticket_id)
            total, rows = await audit_page(session, ticket_id, limit, offset)
        return Page(total=total, items=[AuditOut(**r) for r in rows])

    return router
