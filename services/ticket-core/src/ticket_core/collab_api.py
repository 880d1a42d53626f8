"""Collaboration over HTTP: escalation lines, similar tickets, escalation history; with the
canned-response and satisfaction routers, one router for ``app.py``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import collab_repo as crepo
from . import crud
from . import repository as repo
from . import workflow_repo as wrepo
from .api import _TICKET_COLUMNS, TicketOut, _joined, _ticket_out, ticket_detail
from .api_common import Limit, Offset, Page, bearer_auth, not_found
from .escalation import EscalationConflict, EscalationDone, escalate, return_to_first_line
from .models_collab import escalations
from .outbox import OutboxRelay
from .replies import ReplySettings, TicketNotFound
from .settings import TicketCoreSettings
from .workflow import WorkflowError
from .workflow_api import AgentHeader

Note = Field(min_length=1, max_length=20_000, description="Stored as an internal note.")


class EscalateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group_id: int = Field(description="The second-line group taking the ticket.")
    note: str = Note


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Note


class EscalationOut(BaseModel):
    id: int
    ticket_id: int
    line: int
    to_group_id: int
    from_agent_id: int | None
    from_group_id: int | None
    escalated_by: int
    returned_by: int | None
    created_at: datetime
    returned_at: datetime | None


def collab_router(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
) -> APIRouter:
    reply_settings = ReplySettings(settings.email_domain, settings.reply_email_account)
    auto_close_after = timedelta(seconds=settings.auto_close_after_seconds)
    router = APIRouter(
        prefix="/api/v1", tags=["collaboration"], dependencies=[Depends(bearer_auth(settings))]
    )

    async def run(ticket_id: int, agent: int, body: EscalateIn | ReturnIn) -> TicketOut:
        try:
            async with sessions() as session:
                async with session.begin():
                    if not await wrepo.active_agents(session, [agent]):
                        raise HTTPException(
                            status_code=403,
                            detail=f"agent {agent} does not exist or is deactivated",
                        )
                    done: EscalationDone
                    if isinstance(body, EscalateIn):
                        done = await escalate(
                            session,
                            ticket_id,
                            body.group_id,
                            body.note,
                            agent,
                            now=datetime.now(UTC),
                            auto_close_after=auto_close_after,
                            reply_settings=reply_settings,
                        )
                    else:
                        done = await return_to_first_line(
                            session,
                            ticket_id,
                            body.note,
                            agent,
                            now=datetime.now(UTC),
                            auto_close_after=auto_close_after,
                            reply_settings=reply_settings,
                        )
                await relay.flush_quietly(done.outbox_ids)
                return await ticket_detail(session, ticket_id)
        except TicketNotFound:
            not_found("ticket", ticket_id)
        except EscalationConflict as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from exc
        except WorkflowError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc

    @router.post("/tickets/{ticket_id}/escalate", response_model=TicketOut)
    async def escalate_ticket(
        ticket_id: int, body: EscalateIn, x_agent_id: AgentHeader
    ) -> TicketOut:
        """Pass the ticket to a second-line group with a note (409 if already escalated)."""
        return await run(ticket_id, x_agent_id, body)

    @router.post("/tickets/{ticket_id}/return", response_model=TicketOut)
    async def return_ticket(ticket_id: int, body: ReturnIn, x_agent_id: AgentHeader) -> TicketOut:
        """Give an escalated ticket back to who was responsible before (409 if not escalated)."""
        return await run(ticket_id, x_agent_id, body)

    @router.get("/tickets/{ticket_id}/escalations", response_model=Page[EscalationOut])
    async def escalations_of(
        ticket_id: int, limit: Limit = 50, offset: Offset = 0
    ) -> Page[EscalationOut]:
        async with sessions() as session:
            if await repo.ticket_by_id(session, ticket_id) is None:
                not_found("ticket", ticket_id)
            total, rows = await crud.page(
                session,
                escalations,
                where=[escalations.c.ticket_id == ticket_id],
                order_by=[escalations.c.id],
                limit=limit,
                offset=offset,
            )
        return Page(total=total, items=[EscalationOut(**r) for r in rows])

    @router.get("/tickets/{ticket_id}/similar", response_model=Page[TicketOut])
    async def similar(ticket_id: int, limit: Limit = 20, offset: Offset = 0) -> Page[TicketOut]:
        """Other tickets of contacts sharing an email address or phone number with this
        ticket's contact, newest first."""
        async with sessions() as session:
            ticket = await repo.ticket_by_id(session, ticket_id)
            if ticket is None:
                not_found("ticket", ticket_id)
            total, ids = await crepo.similar_tickets(session, ticket, limit, offset)
            rows = await session.execute(
                _joined(select(*_TICKET_COLUMNS).select_from(repo.tickets)).where(
                    repo.tickets.c.id.in_(ids)
                )
            )
            now = datetime.now(UTC)
            found = {int(r["id"]): _ticket_out(dict(r), now) for r in rows.mappings()}
        return Page(total=total, items=[found[i] for i in ids if i in found])

    return router
