"""Customer satisfaction: the contact rates a Resolved (or Closed) ticket good / neutral /
bad with an optional comment, or reopens a Resolved one, through a signed link
(``ratings.py``). Rating again overwrites; each change is audited (actor ``customer``)
and a new rating is announced by a ``ticket.rated`` event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from helpdesk_common import correlation
from helpdesk_common.records import Channel, TicketEvent, TicketEventKind, new_id
from helpdesk_common.topics import TICKET_EVENTS
from sqlalchemy.ext.asyncio import AsyncSession

from . import collab_repo as crepo
from . import repository as repo
from . import workflow_repo as wrepo
from .audit import CUSTOMER, audit_rows, changes_between, insert_audit
from .catalog import ticket_is_internal
from .models import TicketStatus
from .ratings import Rating
from .replies import TicketNotFound
from .workflow import ChangeRequest, apply_changes

RATEABLE = (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value)
COMMENT_MAX = 5000


class RatingRefused(ValueError):
    """Not possible in the ticket's state (409)."""


class RatingInvalid(ValueError):
    """The request itself is wrong (422)."""


@dataclass(frozen=True)
class Rated:
    ticket: dict[str, Any]
    outbox_ids: list[int]


async def _lock(session: AsyncSession, ticket_id: int) -> dict[str, Any]:
    locked = await wrepo.lock_tickets(session, [ticket_id])
    if ticket_id not in locked:
        raise TicketNotFound(ticket_id)
    return locked[ticket_id]


async def rate(
    session: AsyncSession,
    ticket_id: int,
    rating: Rating | None,
    comment: str | None,
    now: datetime,
) -> Rated:
    """Record a rating and/or a comment (``None``: keep what is stored)."""
    ticket = await _lock(session, ticket_id)
    if ticket["status"] not in RATEABLE:
        raise RatingRefused(f"the ticket is {ticket['status']}: only resolved tickets are rated")
    internal = await ticket_is_internal(session, ticket["type_id"])
    if internal:
        raise RatingRefused("internal tickets are not rated")
    if rating is None and ticket["rating"] is None:
        raise RatingInvalid("choose a rating (good, neutral or bad) first")
    if comment is not None:
        comment = comment.strip()[:COMMENT_MAX] or None
    after = dict(ticket)
    if rating is not None:
        after["rating"] = rating.value
    if comment is not None:
        after["rating_comment"] = comment
    changes = changes_between(ticket, after, ("rating", "rating_comment"))
    if not changes:
        return Rated(ticket, [])
    await crepo.set_rating(session, ticket_id, {c.field: c.new for c in changes}, now)
    await insert_audit(session, audit_rows(ticket_id, CUSTOMER, changes, now, "satisfaction link"))
    outbox: list[int] = []
    if any(c.field == "rating" for c in changes):
        event = TicketEvent(
            kind=TicketEventKind.RATED,
            ticket_id=ticket_id,
            ticket_number=ticket["number"],
            contact_id=ticket["contact_id"],
            channel=Channel(ticket["channel"]),
            status=ticket["status"],
            internal=False,
            details={"rating": after["rating"]},
            correlation_id=correlation.current() or new_id(),
        )
        outbox = await repo.add_outbox(session, [(TICKET_EVENTS.name, event.model_dump_json())])
    fresh = await repo.ticket_by_id(session, ticket_id)
    assert fresh is not None
    return Rated(fresh, outbox)


async def reopen(
    session: AsyncSession, ticket_id: int, now: datetime, auto_close_after: timedelta
) -> Rated:
    """Reopen a Resolved ticket by the customer's wish, through the status rules."""
    ticket = await _lock(session, ticket_id)
    if ticket["status"] == TicketStatus.CLOSED:
        raise RatingRefused("the ticket is closed: write to us to open a new request")
    if ticket["status"] != TicketStatus.RESOLVED:
        raise RatingRefused(f"the ticket is {ticket['status']}, not resolved")
    outcome = await apply_changes(
        session,
        [ticket_id],
        ChangeRequest(status=TicketStatus.OPEN.value, reason="reopened from the satisfaction link"),
        CUSTOMER,
        now=now,
        auto_close_after=auto_close_after,
    )
    if ticket_id in outcome.failed:
        raise RatingRefused(outcome.failed[ticket_id])
    return Rated(outcome.tickets[ticket_id], outcome.outbox_ids)
