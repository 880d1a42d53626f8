"""The customer portal's API for logged-in contacts (``/api/v1/portal``; the contact's
session is the credential, see ``portal_auth``). Included behind the public router class:
no agent authentication, every route depends on ``PortalAuth``.

- ``GET /tickets`` (``status``, ``limit``, ``offset``), ``GET /tickets/{id}`` with the
  public messages only;
- ``POST /tickets`` (subject, text, type_id and priority_id where allowed);
- ``POST /tickets/{id}/replies`` (text; ``Idempotency-Key`` header honoured);
- ``POST /tickets/{id}/confirm`` (Resolved -> Closed), ``POST /tickets/{id}/reopen``,
  ``POST /tickets/{id}/rating`` (good | neutral | bad, comment).

A ticket the contact may not see (someone else's, internal, missing) is 404.
"""

# No ``from __future__ import annotations``: route signatures name a local dependency.

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import portal_actions as actions
from . import portal_repo as repo
from .api_common import Limit, Offset
from .catalog import load_catalog
from .desk_config import DeskConfig
from .desk_settings_repo import portal_options
from .models import TicketStatus
from .outbox import OutboxRelay
from .portal_auth import PortalAuth
from .portal_messages import idempotency_key
from .portal_repo import PortalUser
from .ratings import Rating
from .replies import TicketNotFound
from .repository import tickets
from .required_attributes import CONTACT, form_fields
from .satisfaction import COMMENT_MAX, RatingInvalid, RatingRefused
from .settings import TicketCoreSettings
from .ticket_fields import load_definitions


class PortalTicket(BaseModel):
    id: int
    number: int
    subject: str
    status: str
    status_name: str | None
    type_id: int | None
    type_name: str | None
    priority_id: int
    priority_name: str | None
    contact_id: int | None
    contact_name: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    rating: str | None
    rating_comment: str | None
    follow_up_of_id: int | None


class PortalMessage(BaseModel):
    id: int
    author: str = Field(description="'customer' or 'agent'.")
    author_name: str | None
    text: str
    attachments: list[str] = Field(description="File names.")
    created_at: datetime


class PortalTicketDetail(PortalTicket):
    messages: list[PortalMessage]


class PortalPage(BaseModel):
    total: int
    items: list[PortalTicket]


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=100_000)


class TicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str = Field(min_length=1, max_length=250)
    text: str = Field(min_length=1, max_length=100_000)
    type_id: int | None = None
    priority_id: int | None = None
    custom_attributes: dict[str, Any] = Field(
        default_factory=dict,
        description="Values of custom attributes visible to contacts: those required on "
        "creation must be given (GET /api/v1/portal/choices lists them).",
    )


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: Rating | None = None
    comment: str | None = Field(default=None, max_length=COMMENT_MAX)


class Written(BaseModel):
    ticket_id: int = Field(description="Where the message landed (a follow-up on closed ones).")
    message_id: int | None = None
    status: str


class PortalChoices(BaseModel):
    type_ids: list[int]
    priority_ids: list[int]
    attributes: list[dict[str, Any]] = []  # custom attributes a contact may set


def _message(row: dict[str, Any]) -> PortalMessage:
    customer = row["kind"] == "customer"
    return PortalMessage(
        id=row["id"],
        author="customer" if customer else "agent",
        author_name=row["author_name"] if customer else None,
        text=row["text"],
        attachments=[str(a.get("filename") or "file") for a in row["attachments"] or []],
        created_at=row["created_at"],
    )


def portal_router(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    auth: PortalAuth,
    config: DeskConfig,
) -> APIRouter:
    router = APIRouter(prefix="/api/v1/portal", tags=["portal"])
    Contact = Annotated[PortalUser, Depends(auth)]
    window = timedelta(days=settings.reopen_window_days)
    auto_close = timedelta(seconds=settings.auto_close_after_seconds)
    account = config.portal_channel_account

    async def run(work: Any) -> Written:
        """Run one action in a transaction; map refusals to 404/409/422."""
        try:
            async with sessions() as session, session.begin():
                done: actions.Done = await work(session, datetime.now(UTC))
                status = await session.scalar(
                    select(tickets.c.status).where(tickets.c.id == done.ticket_id)
                )
        except (actions.PortalNotFound, TicketNotFound) as exc:
            raise HTTPException(404, f"ticket {exc.args[0]} not found") from exc
        except (actions.PortalRefused, RatingRefused) as exc:
            raise HTTPException(409, str(exc)) from exc
        except (actions.PortalInvalid, RatingInvalid) as exc:
            raise HTTPException(422, str(exc)) from exc
        await relay.flush_quietly(done.outbox_ids)
        return Written(ticket_id=done.ticket_id, message_id=done.message_id, status=str(status))

    @router.get("/choices", response_model=PortalChoices)
    async def choices(user: Contact) -> PortalChoices:
        async with sessions() as session:
            options = await portal_options(session)
            fields = form_fields(await load_definitions(session), CONTACT, {})
            catalog = await load_catalog(session)  # inactive rows are not offered (0015)
        return PortalChoices(
            type_ids=[i for i in options.type_ids if i not in catalog.inactive_types],
            priority_ids=[i for i in options.priority_ids if i not in catalog.inactive_priorities],
            attributes=[
                {k: f[k] for k in ("key", "label", "kind", "options", "required")} for f in fields
            ],
        )

    @router.get("/tickets", response_model=PortalPage)
    async def list_tickets(
        user: Contact,
        limit: Limit = 50,
        offset: Offset = 0,
        status: Annotated[TicketStatus | None, Query()] = None,
    ) -> PortalPage:
        async with sessions() as session:
            total, rows = await repo.ticket_page(
                session, user, status.value if status else None, limit, offset
            )
        return PortalPage(total=total, items=[PortalTicket.model_validate(r) for r in rows])

    @router.get("/tickets/{ticket_id}", response_model=PortalTicketDetail)
    async def get_ticket(ticket_id: int, user: Contact) -> PortalTicketDetail:
        async with sessions() as session:
            row = await repo.ticket(session, user, ticket_id)
            if row is None:
                raise HTTPException(404, f"ticket {ticket_id} not found")
            messages = await repo.public_messages(session, ticket_id)
        return PortalTicketDetail(**row, messages=[_message(m) for m in messages])

    @router.post("/tickets", response_model=Written, status_code=201)
    async def create_ticket(
        body: TicketIn,
        user: Contact,
        idempotency: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
    ) -> Written:
        key = idempotency_key(user, idempotency)
        return await run(
            lambda session, now: actions.open_ticket(
                session,
                user,
                body.subject,
                body.text,
                body.type_id,
                body.priority_id,
                key,
                account,
                window,
                auto_close,
                now,
                attributes=body.custom_attributes,
            )
        )

    @router.post("/tickets/{ticket_id}/replies", response_model=Written, status_code=201)
    async def reply(
        ticket_id: int,
        body: ReplyIn,
        user: Contact,
        idempotency: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
    ) -> Written:
        key = idempotency_key(user, idempotency)
        return await run(
            lambda session, now: actions.add_reply(
                session, user, ticket_id, body.text, key, account, window, now
            )
        )

    @router.post("/tickets/{ticket_id}/confirm", response_model=Written)
    async def confirm(ticket_id: int, user: Contact) -> Written:
        return await run(
            lambda session, now: actions.confirm(session, user, ticket_id, auto_close, now)
        )

    @router.post("/tickets/{ticket_id}/reopen", response_model=Written)
    async def reopen(ticket_id: int, user: Contact) -> Written:
        return await run(
            lambda session, now: actions.reopen_ticket(session, user, ticket_id, auto_close, now)
        )

    @router.post("/tickets/{ticket_id}/rating", response_model=Written)
    async def rating(ticket_id: int, body: RatingIn, user: Contact) -> Written:
        return await run(
            lambda session, now: actions.rate_ticket(
                session, user, ticket_id, body.rating, body.comment, now
            )
        )

    return router
