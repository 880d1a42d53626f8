"""The ticket page's "Linked tickets" panel: what it lists, and finding the other ticket
an agent names in its forms (a ticket number, ``#1234``, or else a ticket id)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import ticket_links_repo as lrepo
from .. import ticket_visibility
from ..repository import tickets
from ..ticket_links_rules import MANUAL_KINDS
from .console_auth import ConsoleAgent

PANEL_LIMIT = 100  # a ticket with more links shows the oldest 100 and says so

KIND_LABELS: dict[str, str] = {
    "related": "Related to",
    "parent": "Child of",  # the other ticket is this one's parent
    "child": "Parent of",
    "duplicate_of": "Duplicate of",
    "duplicated_by": "Duplicated by",
    "follow_up_of": "Follow-up of",
    "followed_up_by": "Followed up by",
    "possible_duplicate_of": "Possible duplicate of",
    "possibly_duplicated_by": "Possibly duplicated by",
}


class UnknownTicket(LookupError):
    """The form names no ticket (the page answers 404)."""


async def panel(session: AsyncSession, ticket_id: int, agent: ConsoleAgent) -> dict[str, Any]:
    """The links of the ticket, oldest first; a specialist sees only the linked tickets
    they may read (as ``GET /api/v1/tickets/{id}/links``)."""
    readable = [] if agent.sees_every_ticket else [ticket_visibility.readable_by(agent.id)]
    total, rows = await lrepo.links_of(
        session, ticket_id, limit=PANEL_LIMIT, offset=0, other_filter=readable
    )
    items = [{**r, "label": KIND_LABELS.get(str(r["kind"]), str(r["kind"]))} for r in rows]
    return {
        "rows": items,
        "total": total,
        "kinds": [(k, KIND_LABELS[k]) for k in MANUAL_KINDS],
    }


async def ticket_named(session: AsyncSession, raw: str) -> int:
    """The id of the ticket a form names: ``1234`` or ``#1234`` is a ticket number; a
    digit string that is no ticket's number is tried as a ticket id. ``UnknownTicket``
    else."""
    text = raw.strip().removeprefix("#").strip()
    if not text.isdigit() or len(text) > 18:
        raise UnknownTicket(f"{raw.strip()[:40]!r} is not a ticket number")
    value = int(text)
    found = await session.scalar(select(tickets.c.id).where(tickets.c.number == value))
    if found is None:
        found = await session.scalar(select(tickets.c.id).where(tickets.c.id == value))
    if found is None:
        raise UnknownTicket(f"no ticket has number {value}")
    return int(found)
