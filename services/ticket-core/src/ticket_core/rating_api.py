"""Satisfaction links: public pages (no agent authentication, the signed token is the
credential) and the agents' view of a ticket's rating and links.

``GET /rate/{token}?rating=good`` records the rating and answers a thank-you page with a
comment form; ``POST /rate/{token}`` saves the comment; ``POST /rate/{token}/reopen``
reopens a Resolved ticket. A forged or altered token is 403, an expired one 410.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import rating_pages as pages
from . import repository as repo
from .api_common import bearer_auth, not_found
from .outbox import OutboxRelay
from .ratings import Rating, RatingSettings, TokenExpired, TokenRefused, links, verify_token
from .replies import TicketNotFound
from .satisfaction import COMMENT_MAX, RatingInvalid, RatingRefused, rate, reopen
from .settings import TicketCoreSettings


class RatingLinksOut(BaseModel):
    good: str
    neutral: str
    bad: str
    reopen: str


class RatingOut(BaseModel):
    ticket_id: int
    rating: Rating | None
    comment: str | None
    rated_at: datetime | None
    links: RatingLinksOut


def _html(status: int, message: str) -> HTMLResponse:
    return HTMLResponse(pages.refusal(message), status_code=status)


def rating_routers(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    rating_settings: RatingSettings | None = None,
) -> tuple[APIRouter, APIRouter]:
    """(the public /rate router, the agents' /api/v1 router)."""
    own = rating_settings or RatingSettings()
    secret = own.secret()
    auto_close_after = timedelta(seconds=settings.auto_close_after_seconds)
    public = APIRouter(tags=["satisfaction (public)"])
    agents_side = APIRouter(
        prefix="/api/v1", tags=["satisfaction"], dependencies=[Depends(bearer_auth(settings))]
    )

    def ticket_of(token: str) -> int | HTMLResponse:
        if secret is None:
            return _html(503, "Ratings are not configured.")
        try:
            return verify_token(secret, token)
        except TokenRefused:
            return _html(403, "This link is not valid.")
        except TokenExpired:
            return _html(410, "This link has expired.")

    def reopen_url(token: str) -> str:
        return f"{quote(token)}/reopen"  # relative to the page at /rate/<token>

    async def record(
        token: str, rating: Rating | None, comment: str | None
    ) -> tuple[int, dict[str, Any]] | HTMLResponse:
        ticket_id = ticket_of(token)
        if isinstance(ticket_id, HTMLResponse):
            return ticket_id
        try:
            async with sessions() as session, session.begin():
                done = await rate(session, ticket_id, rating, comment, datetime.now(UTC))
        except TicketNotFound:
            return _html(404, "This request no longer exists.")
        except RatingRefused as exc:
            return _html(409, str(exc))
        except RatingInvalid as exc:
            return _html(422, str(exc))
        await relay.flush_quietly(done.outbox_ids)
        return ticket_id, done.ticket

    @public.get("/rate/{token}", response_class=HTMLResponse, summary="Rate a resolved ticket")
    async def rate_by_link(
        token: str,
        rating: Annotated[
            Rating | None,
            Query(description="good, neutral or bad; without it the page offers the three"),
        ] = None,
    ) -> HTMLResponse:
        if rating is None:  # the link in a notification: choosing records nothing yet
            ticket_id = ticket_of(token)
            if isinstance(ticket_id, HTMLResponse):
                return ticket_id
            async with sessions() as session:
                number = await session.scalar(
                    select(repo.tickets.c.number).where(repo.tickets.c.id == ticket_id)
                )
            if number is None:
                return _html(404, "This request no longer exists.")
            return HTMLResponse(pages.choose(int(number), quote(token)))
        result = await record(token, rating, None)
        if isinstance(result, HTMLResponse):
            return result
        _, ticket = result
        resolved = ticket["status"] == "resolved"
        return HTMLResponse(
            pages.thank_you(
                int(ticket["number"]),
                rating.value,
                ticket["rating_comment"],
                reopen_url(token) if resolved else None,
            )
        )

    @public.post("/rate/{token}", response_class=HTMLResponse, summary="Comment on a rating")
    async def comment_by_link(
        token: str,
        comment: Annotated[str, Form(max_length=COMMENT_MAX)] = "",
        rating: Annotated[Rating | None, Form()] = None,
    ) -> HTMLResponse:
        result = await record(token, rating, comment)
        if isinstance(result, HTMLResponse):
            return result
        return HTMLResponse(pages.comment_saved(int(result[1]["number"])))

    @public.post("/rate/{token}/reopen", response_class=HTMLResponse, summary="Reopen")
    async def reopen_by_link(token: str) -> HTMLResponse:
        ticket_id = ticket_of(token)
        if isinstance(ticket_id, HTMLResponse):
            return ticket_id
        try:
            async with sessions() as session, session.begin():
                done = await reopen(session, ticket_id, datetime.now(UTC), auto_close_after)
        except TicketNotFound:
            return _html(404, "This request no longer exists.")
        except RatingRefused as exc:
            return _html(409, str(exc))
        await relay.flush_quietly(done.outbox_ids)
        return HTMLResponse(pages.reopened(int(done.ticket["number"])))

    @agents_side.get("/tickets/{ticket_id}/rating", response_model=RatingOut)
    async def ticket_rating(ticket_id: int) -> RatingOut:
        """The customer's rating and the links to send them (for a resolution message)."""
        if secret is None:
            raise HTTPException(status_code=503, detail="no rating secret configured")
        async with sessions() as session:
            ticket = await repo.ticket_by_id(session, ticket_id)
        if ticket is None:
            not_found("ticket", ticket_id)
        made = links(own.public_base_url, ticket_id, secret, own.rating_link_ttl_seconds)
        return RatingOut(
            ticket_id=ticket_id,
            rating=ticket["rating"],
            comment=ticket["rating_comment"],
            rated_at=ticket["rated_at"],
            links=RatingLinksOut(
                good=made.rate[Rating.GOOD],
                neutral=made.rate[Rating.NEUTRAL],
                bad=made.rate[Rating.BAD],
                reopen=made.reopen,
            ),
        )

    return public, agents_side
