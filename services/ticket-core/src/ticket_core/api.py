"""ticket-core's REST API: tickets with their messages and replies. Changes to tickets
are in ``workflow_api``, the organisation and the catalogue in their own routers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from helpdesk_common.blobstore import BlobStore
from helpdesk_common.records import Channel
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import repository as repo
from . import workflow_repo as wrepo
from .api_common import OptionalAgent, bearer_auth
from .attachments_api import AttachmentIn, verified
from .models import TicketStatus as Category
from .models_workflow import statuses
from .outbox import OutboxRelay
from .replies import ReplyError, ReplyRequest, ReplySettings, TicketNotFound, add_reply
from .required_attributes_repo import MISSING_REQUIRED_DOC, missing_clause
from .settings import TicketCoreSettings
from .sla_repo import OVERDUE_DOC, overdue_clause
from .sla_tickets import reaction_met
from .statuses import resolution_seconds
from .ticket_fields import hide_attributes

ViewerHeader = OptionalAgent  # the viewing agent: custom attributes its role may see


class MessageOut(BaseModel):
    id: int
    kind: str
    channel: str
    author_contact_id: int | None
    subject: str
    text: str
    html: str | None
    attachments: list[dict[str, Any]]
    fields: dict[str, str]
    recipients: list[str] = []
    auto_submitted: bool = False
    is_bounce: bool = False
    external_message_id: str | None = None
    outbound_id: str | None = None
    delivery_state: str | None = None
    delivery_reason: str | None = None
    correlation_id: str | None = None
    created_at: Any
    author_agent_id: int | None = None


class ReplyIn(BaseModel):
    text: str = Field(min_length=1, max_length=100_000)
    html: str | None = Field(default=None, max_length=500_000)
    internal: bool = Field(
        default=False, description="An internal note: never sent to the customer."
    )
    channel: Channel | None = Field(
        default=None, description="Send on this channel instead of the ticket's own."
    )
    attachments: list[AttachmentIn] = Field(
        default=[], max_length=10, description="Files uploaded with POST /api/v1/attachments."
    )


class TicketOut(BaseModel):
    id: int
    number: int
    subject: str
    description: str
    status: str
    channel: str
    channel_account: str
    contact_id: int | None
    contact_email: str | None = None
    contact_name: str | None = None
    follow_up_of_id: int | None
    possible_duplicate_of_id: int | None = None
    created_at: Any
    updated_at: Any
    status_id: int
    status_name: str | None = None
    priority_id: int
    type_id: int | None
    company_id: int | None
    responsible_agent_id: int | None
    responsible_group_id: int | None
    reopen_count: int
    pending_until: datetime | None
    auto_close_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution_seconds: float = Field(
        description="Time spent Open (Pending, Resolved and Closed spans do not count)."
    )
    observer_agent_ids: list[int] | None = None
    observer_group_ids: list[int] | None = None
    # --- routing (migration 0006) ---
    service_object_id: int | None = None
    custom_attributes: dict[str, Any] = Field(
        default_factory=dict, description="Only those the acting agent's role may see."
    )
    messages: list[MessageOut] | None = None
    tags: list[str] = Field(default_factory=list)  # triggers (migration 0007)
    # --- sla (sla_tickets.py) ---
    sla_rule_id: int | None = None
    reaction_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    reaction_warned_at: datetime | None = None
    reaction_breached_at: datetime | None = None
    resolution_warned_at: datetime | None = None
    resolution_breached_at: datetime | None = None
    sla_paused_at: datetime | None = None
    sla_paused_seconds: float = 0.0
    reaction_met: bool | None = Field(
        default=None, description="Reacted by the planned time (null: no target or not yet)."
    )


class TicketPage(BaseModel):
    total: int
    items: list[TicketOut]


_TICKET_COLUMNS = [
    repo.tickets,
    repo.contacts.c.email.label("contact_email"),
    repo.contacts.c.display_name.label("contact_name"),
    statuses.c.name.label("status_name"),
]


def _joined(query: Any) -> Any:
    return query.outerjoin(
        repo.contacts, repo.contacts.c.id == repo.tickets.c.contact_id
    ).outerjoin(statuses, statuses.c.id == repo.tickets.c.status_id)


def _ticket_out(row: dict[str, Any], now: datetime) -> TicketOut:
    return TicketOut.model_validate(
        {
            **row,
            "resolution_seconds": resolution_seconds(row, now),
            "reaction_met": reaction_met(row),
        }
    )


async def ticket_detail(session: AsyncSession, ticket_id: int) -> TicketOut:
    """A ticket with its observers and messages (404 when it does not exist)."""
    row = await session.execute(
        _joined(select(*_TICKET_COLUMNS).select_from(repo.tickets)).where(
            repo.tickets.c.id == ticket_id
        )
    )
    found = row.mappings().first()
    if found is None:
        raise HTTPException(status_code=404, detail=f"ticket {ticket_id} not found")
    message_rows = await session.execute(
        select(repo.messages)
        .where(repo.messages.c.ticket_id == ticket_id)
        .order_by(repo.messages.c.id)
    )
    ticket = _ticket_out(dict(found), datetime.now(UTC))
    agents, groups = (await wrepo.observers_of(session, [ticket_id]))[ticket_id]
    ticket.observer_agent_ids, ticket.observer_group_ids = sorted(agents), sorted(groups)
    ticket.messages = [MessageOut.model_validate(dict(m)) for m in message_rows.mappings()]
    return ticket


def _filters(
    contact_email: str | None,
    status: Category | None,
    status_id: int | None,
    responsible_agent_id: int | None,
    responsible_group_id: int | None,
    unassigned: bool | None,
    channel: Channel | None,
    company_id: int | None,
    q: str | None,
    overdue: bool | None = None,
) -> list[Any]:
    t = repo.tickets.c
    where: list[Any] = []
    if contact_email:
        where.append(func.lower(repo.contacts.c.email) == contact_email.strip().lower())
    for column, value in (
        (t.status, status.value if status else None),
        (t.status_id, status_id),
        (t.responsible_agent_id, responsible_agent_id),
        (t.responsible_group_id, responsible_group_id),
        (t.channel, channel.value if channel else None),
        (t.company_id, company_id),
    ):
        if value is not None:
            where.append(column == value)
    if unassigned is not None:
        nobody = t.responsible_agent_id.is_(None) & t.responsible_group_id.is_(None)
        where.append(nobody if unassigned else ~nobody)
    if q and q.strip():
        where.append(t.subject.icontains(q.strip(), autoescape=True))
    if overdue is not None:
        late = overdue_clause(datetime.now(UTC))
        where.append(late if overdue else ~late)
    return where


async def visibility(request: Request) -> list[Any]:
    """WHERE clauses limiting a ticket list to what the caller may see (``access``)."""
    access = getattr(request.app.state, "agent_access", None)
    principal = getattr(request.state, "principal", None)
    if access is None or principal is None:
        return []
    clauses: list[Any] = access.ticket_filter(principal)
    return clauses


def api_router(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    blobs: BlobStore,
) -> APIRouter:
    reply_settings = ReplySettings(settings.email_domain, settings.reply_email_account)
    router = APIRouter(
        prefix="/api/v1", tags=["tickets"], dependencies=[Depends(bearer_auth(settings))]
    )

    @router.get("/tickets", response_model=TicketPage)
    async def list_tickets(
        x_agent_id: ViewerHeader,
        visible: Annotated[list[Any], Depends(visibility)],
        contact_email: str | None = None,
        status: Annotated[Category | None, Query(description="A status category.")] = None,
        status_id: Annotated[int | None, Query(description="A custom status.")] = None,
        responsible_agent_id: int | None = None,
        responsible_group_id: int | None = None,
        unassigned: Annotated[
            bool | None, Query(description="true: neither an agent nor a group is responsible.")
        ] = None,
        channel: Channel | None = None,
        company_id: int | None = None,
        q: Annotated[str | None, Query(max_length=200, description="Text in the subject.")] = None,
        overdue: Annotated[bool | None, Query(description=OVERDUE_DOC)] = None,
        missing_required: Annotated[bool | None, Query(description=MISSING_REQUIRED_DOC)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> TicketPage:
        where = visible + _filters(
            contact_email,
            status,
            status_id,
            responsible_agent_id,
            responsible_group_id,
            unassigned,
            channel,
            company_id,
            q,
            overdue,
        )
        async with sessions() as session:
            if missing_required is not None:  # --- required attributes ---
                where.append(await missing_clause(session, missing_required))
            total = await session.scalar(
                _joined(select(func.count()).select_from(repo.tickets)).where(*where)
            )
            rows = await session.execute(
                _joined(select(*_TICKET_COLUMNS).select_from(repo.tickets))
                .where(*where)
                .order_by(repo.tickets.c.id.desc())
                .limit(limit)
                .offset(offset)
            )
            now = datetime.now(UTC)
            items = [_ticket_out(dict(r), now) for r in rows.mappings()]
            await hide_attributes(session, items, x_agent_id)
        return TicketPage(total=int(total or 0), items=items)

    @router.get("/tickets/{ticket_id}", response_model=TicketOut)
    async def get_ticket(ticket_id: int, x_agent_id: ViewerHeader) -> TicketOut:
        async with sessions() as session:
            ticket = await ticket_detail(session, ticket_id)
            await hide_attributes(session, [ticket], x_agent_id)
            return ticket

    @router.post("/tickets/{ticket_id}/replies", response_model=MessageOut, status_code=201)
    async def reply(ticket_id: int, body: ReplyIn, author: OptionalAgent) -> MessageOut:
        files = tuple(await verified(blobs, body.attachments))
        request = ReplyRequest(
            body.text, body.html, body.internal, body.channel, files, author_agent_id=author
        )
        try:
            async with sessions() as session, session.begin():
                if author is not None and not await wrepo.active_agents(session, [author]):
                    raise HTTPException(
                        status_code=403, detail=f"agent {author} does not exist or is deactivated"
                    )
                row, outbox_ids = await add_reply(session, ticket_id, request, reply_settings)
        except TicketNotFound as exc:
            raise HTTPException(status_code=404, detail=f"ticket {ticket_id} not found") from exc
        except ReplyError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        await relay.flush_quietly(outbox_ids)
        return MessageOut.model_validate(row)

    return router
