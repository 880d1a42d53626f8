"""What a portal contact does to tickets, inside the caller's transaction: reply, open a
ticket (with a type and priority where the portal options allow), confirm (close) or
reopen a resolved ticket, rate it. Messages go through ``ingest_batch`` (the channels'
path), status changes through ``apply_changes`` and ratings through ``satisfaction``, all
as the actor ``customer``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from helpdesk_common.records import AttachmentRef
from sqlalchemy.ext.asyncio import AsyncSession

from . import portal_messages
from . import portal_repo as repo
from .audit import CUSTOMER
from .catalog import load_catalog
from .custom_attributes import InvalidAttribute
from .desk_settings_repo import portal_options
from .ingest import ingest_batch
from .models import TicketStatus
from .portal_repo import PortalUser
from .ratings import Rating
from .required_attributes import CONTACT, check_on_create
from .satisfaction import rate, reopen
from .ticket_fields import load_definitions
from .workflow import KEEP, ChangeRequest, apply_changes


class PortalRefused(ValueError):
    """Not possible in the ticket's state (409)."""


class PortalInvalid(ValueError):
    """The request is wrong (422)."""


class PortalNotFound(LookupError):
    """No such ticket for this contact (404): missing, someone else's, or internal."""


@dataclass
class Done:
    ticket_id: int
    message_id: int | None = None
    outbox_ids: list[int] = field(default_factory=list)


async def _visible(session: AsyncSession, user: PortalUser, ticket_id: int) -> dict[str, Any]:
    found = await repo.ticket(session, user, ticket_id)
    if found is None:
        raise PortalNotFound(ticket_id)
    return found


async def add_reply(
    session: AsyncSession,
    user: PortalUser,
    ticket_id: int,
    text: str,
    key: str,
    account: str,
    reopen_window: timedelta,
    now: datetime,
    attachments: Sequence[AttachmentRef] = (),
) -> Done:
    """The contact's message on the ticket: appended (Pending and Resolved-in-window
    tickets reopen), or on a closed / long-resolved ticket a new linked ticket, exactly as
    a channel message would. ``Done.ticket_id`` is where it landed."""
    ticket = await _visible(session, user, ticket_id)
    message = portal_messages.reply(user, account, int(ticket["number"]), text, key, attachments)
    result = await ingest_batch(session, [message], reopen_window=reopen_window, now=now)
    stored = await repo.message_by_key(session, key)
    assert stored is not None
    return Done(int(stored["ticket_id"]), int(stored["id"]), result.outbox_ids)


async def open_ticket(
    session: AsyncSession,
    user: PortalUser,
    subject: str,
    text: str,
    type_id: int | None,
    priority_id: int | None,
    key: str,
    account: str,
    reopen_window: timedelta,
    auto_close_after: timedelta,
    now: datetime,
    attachments: Sequence[AttachmentRef] = (),
    *,
    attributes: Mapping[str, Any] | None = None,
) -> Done:
    """A new ticket from the contact; ``attributes``: custom attribute values, those
    required on creation and visible to contacts must be given (``required_attributes``)."""
    options = await portal_options(session)
    catalog = await load_catalog(session)
    if type_id is not None and (type_id not in options.type_ids or catalog.is_internal(type_id)):
        raise PortalInvalid(f"ticket type {type_id} cannot be chosen in the portal")
    if priority_id is not None and priority_id not in options.priority_ids:
        raise PortalInvalid(f"priority {priority_id} cannot be chosen in the portal")
    inactive = catalog.inactive_choice({}, {"type_id": type_id, "priority_id": priority_id})
    if inactive is not None:  # (migration 0015) switched off since the portal offered it
        raise PortalInvalid(inactive)
    try:
        values = check_on_create(await load_definitions(session), attributes or {}, CONTACT)
    except InvalidAttribute as exc:
        raise PortalInvalid(str(exc)) from exc
    already = await repo.message_by_key(session, key)
    message = portal_messages.new_ticket(user, account, subject, text, key, attachments)
    result = await ingest_batch(session, [message], reopen_window=reopen_window, now=now)
    stored = await repo.message_by_key(session, key)
    assert stored is not None
    done = Done(int(stored["ticket_id"]), int(stored["id"]), list(result.outbox_ids))
    if already is None and (type_id is not None or priority_id is not None or values):
        outcome = await apply_changes(
            session,
            [done.ticket_id],
            ChangeRequest(
                type_id=type_id if type_id is not None else KEEP,
                priority_id=priority_id,
                custom_attributes=values or None,
                reason="chosen by the customer in the portal",
            ),
            CUSTOMER,
            now=now,
            auto_close_after=auto_close_after,
        )
        if done.ticket_id in outcome.failed:
            raise PortalInvalid(outcome.failed[done.ticket_id])
        done.outbox_ids += outcome.outbox_ids
    return done


async def confirm(
    session: AsyncSession,
    user: PortalUser,
    ticket_id: int,
    auto_close_after: timedelta,
    now: datetime,
) -> Done:
    """The contact confirms the solution: Resolved -> Closed."""
    ticket = await _visible(session, user, ticket_id)
    if ticket["status"] != TicketStatus.RESOLVED:
        raise PortalRefused(f"the ticket is {ticket['status']}: only a resolved one is confirmed")
    outcome = await apply_changes(
        session,
        [ticket_id],
        ChangeRequest(status=TicketStatus.CLOSED.value, reason="confirmed in the portal"),
        CUSTOMER,
        now=now,
        auto_close_after=auto_close_after,
    )
    if ticket_id in outcome.failed:
        raise PortalRefused(outcome.failed[ticket_id])
    return Done(ticket_id, None, outcome.outbox_ids)


async def reopen_ticket(
    session: AsyncSession,
    user: PortalUser,
    ticket_id: int,
    auto_close_after: timedelta,
    now: datetime,
) -> Done:
    await _visible(session, user, ticket_id)
    done = await reopen(session, ticket_id, now, auto_close_after)
    return Done(ticket_id, None, done.outbox_ids)


async def rate_ticket(
    session: AsyncSession,
    user: PortalUser,
    ticket_id: int,
    rating: Rating | None,
    comment: str | None,
    now: datetime,
) -> Done:
    await _visible(session, user, ticket_id)
    done = await rate(session, ticket_id, rating, comment, now)
    return Done(ticket_id, None, done.outbox_ids)
