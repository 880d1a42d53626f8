"""Escalation lines: the first line passes a ticket to a second-line group with a note; the
second line can return it to whoever was responsible before.

One call is one transaction's work: the responsible change goes through
``workflow.apply_changes`` (its audit rows and ``responsible.changed`` event), the note is
stored as an internal note (``replies.add_reply``: it never leaves the system, and
@mentions in it notify agents), and the pass itself is recorded in ``ticket_escalations``,
as an ``escalation_line`` audit row and as a ``ticket.escalated`` event (details ``line``
"2" or "1" and ``group_id``). A ticket has at most one open escalation.
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
from .audit import Actor, FieldChange, audit_rows, insert_audit
from .catalog import ticket_is_internal
from .models import TicketStatus
from .replies import ReplyRequest, ReplySettings, TicketNotFound, add_reply
from .workflow import ChangeRequest, WorkflowError, apply_changes


class EscalationConflict(ValueError):
    """Not possible in the ticket's current state (409)."""


@dataclass(frozen=True)
class EscalationDone:
    ticket_id: int
    line: int
    note_message_id: int
    outbox_ids: list[int]


async def _locked_ticket(session: AsyncSession, ticket_id: int) -> dict[str, Any]:
    locked = await wrepo.lock_tickets(session, [ticket_id])
    if ticket_id not in locked:
        raise TicketNotFound(ticket_id)
    ticket = locked[ticket_id]
    if ticket["status"] == TicketStatus.CLOSED:
        raise EscalationConflict("the ticket is closed: closed is final")
    return ticket


async def _change_responsible(
    session: AsyncSession,
    ticket_id: int,
    request: ChangeRequest,
    actor: Actor,
    now: datetime,
    auto_close_after: timedelta,
) -> list[int]:
    outcome = await apply_changes(
        session, [ticket_id], request, actor, now=now, auto_close_after=auto_close_after
    )
    if ticket_id in outcome.failed:
        raise WorkflowError(outcome.failed[ticket_id])
    return outcome.outbox_ids


async def _record(
    session: AsyncSession,
    ticket_id: int,
    line: int,
    group_id: int | None,
    note: str,
    agent_id: int,
    now: datetime,
    reply_settings: ReplySettings,
) -> EscalationDone:
    """The note, the audit row and the ``ticket.escalated`` event of a pass (either way)."""
    message, note_outbox = await add_reply(
        session,
        ticket_id,
        ReplyRequest(note, internal=True, author_agent_id=agent_id),
        reply_settings,
    )
    actor = Actor.agent(agent_id)
    change = FieldChange("escalation_line", 3 - line, line)
    await insert_audit(session, audit_rows(ticket_id, actor, [change], now, note))
    ticket = await repo.ticket_by_id(session, ticket_id)
    assert ticket is not None
    event = TicketEvent(
        kind=TicketEventKind.ESCALATED,
        ticket_id=ticket_id,
        ticket_number=ticket["number"],
        contact_id=ticket["contact_id"],
        message_id=message["id"],
        channel=Channel(ticket["channel"]),
        status=ticket["status"],
        internal=await ticket_is_internal(session, ticket["type_id"]),
        actor_agent_id=agent_id,
        details={"line": str(line), "group_id": "" if group_id is None else str(group_id)},
        correlation_id=correlation.current() or new_id(),
    )
    event_outbox = await repo.add_outbox(session, [(TICKET_EVENTS.name, event.model_dump_json())])
    return EscalationDone(ticket_id, line, int(message["id"]), [*note_outbox, *event_outbox])


async def escalate(
    session: AsyncSession,
    ticket_id: int,
    group_id: int,
    note: str,
    agent_id: int,
    *,
    now: datetime,
    auto_close_after: timedelta,
    reply_settings: ReplySettings,
) -> EscalationDone:
    """Pass the ticket to the second-line group ``group_id`` (no agent of it yet)."""
    if not note.strip():
        raise WorkflowError("the escalation note is empty")
    ticket = await _locked_ticket(session, ticket_id)
    if await crepo.open_escalation(session, ticket_id) is not None:
        raise EscalationConflict("the ticket is already with the second line: return it first")
    if ticket["responsible_group_id"] == group_id:
        raise EscalationConflict(f"the ticket is already with group {group_id}")
    name = await crepo.group_name(session, group_id)
    if name is None:
        raise WorkflowError(f"group(s) {group_id} do not exist")
    request = ChangeRequest(
        responsible_group_id=group_id, responsible_agent_id=None, reason="escalated"
    )
    outbox = await _change_responsible(
        session, ticket_id, request, Actor.agent(agent_id), now, auto_close_after
    )
    await crepo.insert_escalation(
        session,
        {
            "ticket_id": ticket_id,
            "line": 2,
            "to_group_id": group_id,
            "from_agent_id": ticket["responsible_agent_id"],
            "from_group_id": ticket["responsible_group_id"],
            "escalated_by": agent_id,
            "created_at": now,
        },
    )
    done = await _record(
        session,
        ticket_id,
        2,
        group_id,
        f"Escalated to {name}: {note}",
        agent_id,
        now,
        reply_settings,
    )
    return EscalationDone(ticket_id, 2, done.note_message_id, [*outbox, *done.outbox_ids])


async def return_to_first_line(
    session: AsyncSession,
    ticket_id: int,
    note: str,
    agent_id: int,
    *,
    now: datetime,
    auto_close_after: timedelta,
    reply_settings: ReplySettings,
) -> EscalationDone:
    """Give the ticket back to the agent and group responsible before the escalation (the
    agent only if still active and, with a group, still its member)."""
    if not note.strip():
        raise WorkflowError("the return note is empty")
    await _locked_ticket(session, ticket_id)
    escalation = await crepo.open_escalation(session, ticket_id)
    if escalation is None:
        raise EscalationConflict("the ticket is not escalated")
    back_group = escalation["from_group_id"]
    back_agent = escalation["from_agent_id"]
    if back_agent is not None and not await wrepo.active_agents(session, [back_agent]):
        back_agent = None
    if back_agent is not None and back_group is not None:
        if not await wrepo.memberships(session, [(back_agent, back_group)]):
            back_agent = None
    request = ChangeRequest(
        responsible_group_id=back_group, responsible_agent_id=back_agent, reason="returned"
    )
    outbox = await _change_responsible(
        session, ticket_id, request, Actor.agent(agent_id), now, auto_close_after
    )
    await crepo.mark_returned(session, escalation["id"], agent_id, now)
    done = await _record(
        session,
        ticket_id,
        1,
        back_group,
        f"Returned to the first line: {note}",
        agent_id,
        now,
        reply_settings,
    )
    return EscalationDone(ticket_id, 1, done.note_message_id, [*outbox, *done.outbox_ids])
