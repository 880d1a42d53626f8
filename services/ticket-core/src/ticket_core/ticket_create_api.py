"""``POST /api/v1/tickets``: an agent registers a ticket for a customer, or an integration
creates one (``ticket_create.py`` does the work; docs/ticket-create.md).

201 with the ticket as ``GET /tickets/{id}`` shows it; a retried request with the same
``Idempotency-Key`` (per agent) answers 200 with the ticket the first one made."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .api import TicketOut, ticket_detail
from .api_common import OptionalAgent
from .models_org import agents
from .outbox import OutboxRelay
from .replies import ReplySettings
from .settings import TicketCoreSettings
from .ticket_create import NewTicket, TicketCreateRefused, checked, create_ticket, ticket_for_key
from .ticket_fields import hide_attributes


class TicketCreateIn(BaseModel):
    contact_id: int | None = Field(default=None, description="An existing contact.")
    email: str | None = Field(default=None, max_length=320, description="Found or created.")
    phone: str | None = Field(default=None, max_length=40, description="Found or created.")
    name: str | None = Field(default=None, max_length=200, description="A new contact's name.")
    subject: str = Field(max_length=500)
    text: str = Field(default="", max_length=20_000, description="The customer's request.")
    type_id: int | None = None
    priority_id: int | None = None
    responsible_agent_id: int | None = None
    responsible_group_id: int | None = None
    custom_attributes: dict[str, Any] = Field(default_factory=dict)
    channel: str | None = Field(
        default=None, description="Replies go out by email or sms (default: email if known)."
    )


async def _creator_role(
    session: AsyncSession, request: Request, agent_id: int | None
) -> str | None:
    """The role whose required attributes apply: the logged-in agent's, or the role of
    the agent a service names (None: a service acting alone must give them all)."""
    principal = getattr(request.state, "principal", None)
    if principal is not None and not principal.service:
        return str(principal.role.value)
    if agent_id is None:
        return None
    row = (
        await session.execute(select(agents.c.role, agents.c.active).where(agents.c.id == agent_id))
    ).first()
    if row is None or not row.active:
        raise HTTPException(
            status_code=422, detail=f"agent {agent_id} does not exist or is not active"
        )
    return str(row.role)


def ticket_create_router(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
) -> APIRouter:
    reply_settings = ReplySettings(settings.email_domain, settings.reply_email_account)
    router = APIRouter(prefix="/api/v1", tags=["tickets"])

    @router.post("/tickets", response_model=TicketOut, status_code=201)
    async def create(
        body: TicketCreateIn,
        request: Request,
        response: Response,
        author: OptionalAgent,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> TicketOut:
        wanted = NewTicket(
            **body.model_dump(exclude={"custom_attributes"}),
            custom_attributes=body.custom_attributes,
            agent_id=author,
            idempotency_key=idempotency_key,
        )
        try:
            wanted = checked(wanted)
            try:
                async with sessions() as session, session.begin():
                    role = await _creator_role(session, request, author)
                    wanted = NewTicket(**{**wanted.__dict__, "role": role})
                    made = await create_ticket(
                        session, wanted, reply_settings, settings.default_phone_country
                    )
            except IntegrityError:
                # The same key committed meanwhile by a concurrent request: answer with its ticket.
                async with sessions() as session:
                    earlier = await ticket_for_key(session, wanted)
                if earlier is None:
                    raise
                made_id, created = earlier, False
            else:
                made_id, created = made.ticket_id, made.created
                await relay.flush_quietly(made.outbox_ids)
        except TicketCreateRefused as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        if not created:
            response.status_code = 200
        async with sessions() as session:
            ticket = await ticket_detail(session, made_id)
            await hide_attributes(session, [ticket], author)
        return ticket

    return router
