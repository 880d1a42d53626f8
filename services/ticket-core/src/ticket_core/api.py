"""ticket-core's REST API (read side for now: tickets with their messages)."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from helpdesk_common.records import Channel
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import repository as repo
from .outbox import OutboxRelay
from .replies import ReplyError, ReplyRequest, ReplySettings, TicketNotFound, add_reply
from .settings import TicketCoreSettings


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


class ReplyIn(BaseModel):
    text: str = Field(min_length=1, max_length=100_000)
    html: str | None = Field(default=None, max_length=500_000)
    internal: bool = Field(
        default=False, description="An internal note: never sent to the customer."
    )
    channel: Channel | None = Field(
        default=None, description="Send on this channel instead of the ticket's own."
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
    messages: list[MessageOut] | None = None


class TicketPage(BaseModel):
    total: int
    items: list[TicketOut]


def api_router(
    settings: TicketCoreSettings, sessions: async_sessionmaker[AsyncSession], relay: OutboxRelay
) -> APIRouter:
    reply_settings = ReplySettings(settings.email_domain, settings.reply_email_account)

    async def authorised(authorization: Annotated[str | None, Header()] = None) -> None:
        if settings.api_token is None:
            return
        expected = f"Bearer {settings.api_token}"
        if authorization is None or not secrets.compare_digest(authorization, expected):
            raise HTTPException(status_code=401, detail="missing or wrong bearer token")

    router = APIRouter(prefix="/api/v1", tags=["tickets"], dependencies=[Depends(authorised)])
    ticket_cols = [
        repo.tickets,
        repo.contacts.c.email.label("contact_email"),
        repo.contacts.c.display_name.label("contact_name"),
    ]

    def _with_contact(query: Any) -> Any:
        return query.outerjoin(repo.contacts, repo.contacts.c.id == repo.tickets.c.contact_id)

    @router.get("/tickets", response_model=TicketPage)
    async def list_tickets(
        contact_email: str | None = None,
        status: str | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> TicketPage:
        where = []
        if contact_email:
            where.append(func.lower(repo.contacts.c.email) == contact_email.strip().lower())
        if status:
            where.append(repo.tickets.c.status == status)
        async with sessions() as session:
            total = await session.scalar(
                _with_contact(select(func.count()).select_from(repo.tickets)).where(*where)
            )
            rows = await session.execute(
                _with_contact(select(*ticket_cols).select_from(repo.tickets))
                .where(*where)
                .order_by(repo.tickets.c.id.desc())
                .limit(limit)
                .offset(offset)
            )
            items = [TicketOut.model_validate(dict(r)) for r in rows.mappings()]
        return TicketPage(total=int(total or 0), items=items)

    @router.get("/tickets/{ticket_id}", response_model=TicketOut)
    async def get_ticket(ticket_id: int) -> TicketOut:
        async with sessions() as session:
            row = await session.execute(
                _with_contact(select(*ticket_cols).select_from(repo.tickets)).where(
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
            ticket = TicketOut.model_validate(dict(found))
            ticket.messages = [MessageOut.model_validate(dict(m)) for m in message_rows.mappings()]
        return ticket

    @router.post("/tickets/{ticket_id}/replies", response_model=MessageOut, status_code=201)
    async def reply(ticket_id: int, body: ReplyIn) -> MessageOut:
        request = ReplyRequest(body.text, body.html, body.internal, body.channel)
        try:
            async with sessions() as session, session.begin():
                row, outbox_ids = await add_reply(session, ticket_id, request, reply_settings)
        except TicketNotFound as exc:
            raise HTTPException(status_code=404, detail=f"ticket {ticket_id} not found") from exc
        except ReplyError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        await relay.flush_quietly(outbox_ids)
        return MessageOut.model_validate(row)

    return router
