"""Merging a duplicate ticket into its original, in the caller's transaction: nothing
moves; the duplicate gets a ``duplicate_of`` link to the original (kept when it has one
already), a system note on each ticket says what happened, and an Open or Pending
duplicate is resolved (``workflow.apply_changes``: audit, status event, SLA, the
auto-close timer). A Resolved or Closed duplicate keeps its status."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from . import repository as repo
from . import ticket_links_repo as lrepo
from .audit import Actor
from .models import MessageKind, TicketStatus
from .ticket_links import TicketMissing, add_link
from .ticket_links_rules import stored
from .workflow import ChangeRequest, apply_changes


@dataclass
class TicketMergeResult:
    resolved: bool = False
    linked: bool = False
    outbox_ids: list[int] = field(default_factory=list)


async def merge_ticket(
    session: AsyncSession,
    ticket_id: int,
    target_id: int,
    actor: Actor,
    now: datetime,
    auto_close_after: timedelta,
) -> TicketMergeResult:
    """``LinkError``: 422, ``TicketMissing``: 404, ``LinkConflict``: 409 (a duplicate of
    another ticket already, or a cycle)."""
    link = stored(ticket_id, "duplicate_of", target_id)
    found = await lrepo.tickets_by_id(session, (ticket_id, target_id))
    for wanted in (ticket_id, target_id):
        if wanted not in found:
            raise TicketMissing(wanted)
    result = TicketMergeResult()
    if not await lrepo.exists(session, link):
        linked = await add_link(session, ticket_id, "duplicate_of", target_id, actor, now)
        result.outbox_ids += linked.outbox_ids
        result.linked = True
    duplicate, original = found[ticket_id], found[target_id]
    for ticket, text in (
        (duplicate, f"Merged into ticket #{original['number']} as a duplicate."),
        (original, f"Ticket #{duplicate['number']} was merged into this one as a duplicate."),
    ):
        await repo.insert_message(
            session,
            {
                "ticket_id": ticket["id"],
                "kind": MessageKind.SYSTEM.value,
                "channel": ticket["channel"],
                "text": text,
                "auto_submitted": False,
                "is_bounce": False,
                "created_at": now,
            },
        )
    if duplicate["status"] in (TicketStatus.OPEN, TicketStatus.PENDING):
        outcome = await apply_changes(
            session,
            [ticket_id],
            ChangeRequest(
                status=TicketStatus.RESOLVED.value,
                reason=f"merged into ticket #{original['number']}",
            ),
            actor,
            now=now,
            auto_close_after=auto_close_after,
        )
        result.resolved = ticket_id in outcome.updated
        result.outbox_ids += outcome.outbox_ids
    return result
