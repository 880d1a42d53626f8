"""Adding and removing a ticket link in the caller's transaction: the checks (both tickets
exist, not the same link twice, no cycle of parents or duplicates), the row, one audit row
on each ticket and a ``field.changed`` event for each (details: ``field=links``,
``change`` added | removed, ``link`` the kind as that ticket sees it, the other ticket's
id and number). The caller commits and wakes the outbox relay."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from helpdesk_common import correlation
from helpdesk_common.records import Channel, TicketEvent, TicketEventKind, new_id
from helpdesk_common.topics import TICKET_EVENTS
from sqlalchemy.ext.asyncio import AsyncSession

from . import repository as repo
from . import ticket_links_repo as lrepo
from .audit import Actor, FieldChange, audit_rows, insert_audit
from .catalog import load_catalog
from .ticket_links_rules import DIRECTED, StoredLink, audit_text, creates_cycle, seen_from, stored

Change = Literal["added", "removed"]


class LinkConflict(ValueError):
    """The link exists already, or would close a cycle (409)."""


class TicketMissing(LookupError):
    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"ticket {ticket_id} not found")
        self.ticket_id = ticket_id


@dataclass
class LinkResult:
    link: StoredLink
    tickets: dict[int, dict[str, Any]]
    outbox_ids: list[int] = field(default_factory=list)


async def _both(session: AsyncSession, link: StoredLink) -> dict[int, dict[str, Any]]:
    found = await lrepo.tickets_by_id(session, (link.ticket_id, link.linked_ticket_id))
    for ticket_id in (link.ticket_id, link.linked_ticket_id):
        if ticket_id not in found:
            raise TicketMissing(ticket_id)
    return found


async def add_link(
    session: AsyncSession, ticket_id: int, kind: str, other_id: int, actor: Actor, now: datetime
) -> LinkResult:
    """``ticket_id`` is ``kind`` ``other_id`` (``LinkError``: 422, ``TicketMissing``: 404,
    ``LinkConflict``: 409)."""
    link = stored(ticket_id, kind, other_id)
    found = await _both(session, link)
    if link.kind in DIRECTED:
        await lrepo.lock_directed(session)
    if await lrepo.exists(session, link):
        raise LinkConflict(f"ticket {ticket_id} is already {kind} ticket {other_id}")
    if link.kind == "duplicate_of":
        original = await lrepo.duplicate_target(session, link.ticket_id)
        if original is not None:
            raise LinkConflict(
                f"ticket {link.ticket_id} is already a duplicate of ticket {original}: "
                "remove that link first"
            )
    if link.kind in DIRECTED:
        above = await lrepo.reachable(session, link.linked_ticket_id, link.kind)
        if creates_cycle(link, above):
            raise LinkConflict(
                f"linking ticket {ticket_id} as {kind} of ticket {other_id} would make a cycle"
            )
    if not await lrepo.add(session, link, actor.agent_id):
        raise LinkConflict(f"ticket {ticket_id} is already {kind} ticket {other_id}")
    result = LinkResult(link, found)
    result.outbox_ids = await _record(session, link, found, actor, now, "added")
    return result


async def remove_link(
    session: AsyncSession, ticket_id: int, kind: str, other_id: int, actor: Actor, now: datetime
) -> LinkResult | None:
    """None when there is no such link."""
    link = stored(ticket_id, kind, other_id)
    found = await _both(session, link)
    if not await lrepo.remove(session, link):
        return None
    result = LinkResult(link, found)
    result.outbox_ids = await _record(session, link, found, actor, now, "removed")
    return result


async def _record(
    session: AsyncSession,
    link: StoredLink,
    found: Mapping[int, dict[str, Any]],
    actor: Actor,
    now: datetime,
    change: Change,
) -> list[int]:
    catalog = await load_catalog(session)
    rows: list[dict[str, Any]] = []
    events: list[TicketEvent] = []
    for ticket_id in (link.ticket_id, link.linked_ticket_id):
        ticket = found[ticket_id]
        kind, other_id = seen_from(link, ticket_id)
        other = found[other_id]
        value = audit_text(kind, int(other["number"]))
        old, new = (None, value) if change == "added" else (value, None)
        rows.extend(audit_rows(ticket_id, actor, [FieldChange("links", old, new)], now))
        events.append(
            TicketEvent(
                kind=TicketEventKind.FIELD_CHANGED,
                ticket_id=ticket_id,
                ticket_number=ticket["number"],
                contact_id=ticket["contact_id"],
                channel=Channel(ticket["channel"]),
                status=ticket["status"],
                internal=catalog.is_internal(ticket["type_id"]),
                actor_agent_id=actor.agent_id,
                details={
                    "field": "links",
                    "change": change,
                    "link": kind,
                    "linked_ticket_id": str(other_id),
                    "linked_ticket_number": str(other["number"]),
                },
                correlation_id=correlation.current() or new_id(),
            )
        )
    await insert_audit(session, rows)
    return await repo.add_outbox(
        session, [(TICKET_EVENTS.name, e.model_dump_json()) for e in events]
    )
