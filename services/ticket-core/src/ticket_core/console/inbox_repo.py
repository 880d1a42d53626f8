"""The inbox query: one page of the tickets an agent may see, filtered, searched, sorted,
with what a row shows (priority colour, contact, responsible, the last message's kind)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import MessageKind
from ..models_org import agents
from ..models_workflow import priorities, statuses
from ..repository import contacts, messages, tickets
from ..sla_repo import overdue_clause
from ..ticket_visibility import visible_to

PAGE_SIZE = 25
SORTS = ("updated", "created", "oldest", "priority", "due")
CATEGORIES = ("open", "pending", "resolved", "closed")


@dataclass(frozen=True)
class InboxQuery:
    mine: bool = False
    unassigned: bool = False
    overdue: bool = False
    pending: bool = False
    status: str | None = None  # a category
    priority_id: int | None = None
    type_id: int | None = None
    channel: str | None = None
    company_id: int | None = None
    q: str | None = None
    sort: str = "updated"
    offset: int = 0
    limit: int = PAGE_SIZE


def _where(query: InboxQuery, agent_id: int, sees_all: bool, now: datetime) -> list[Any]:
    t = tickets.c
    where: list[Any] = [] if sees_all else [visible_to(agent_id)]
    if query.mine:
        where.append(t.responsible_agent_id == agent_id)
    if query.unassigned:
        where.append(and_(t.responsible_agent_id.is_(None), t.responsible_group_id.is_(None)))
    if query.overdue:
        where.append(overdue_clause(now))
    if query.pending:
        where.append(t.status == "pending")
    for column, value in (
        (t.status, query.status),
        (t.priority_id, query.priority_id),
        (t.type_id, query.type_id),
        (t.channel, query.channel),
        (t.company_id, query.company_id),
    ):
        if value is not None:
            where.append(column == value)
    text = (query.q or "").strip()
    if text:
        matches: list[ColumnElement[bool]] = [
            t.subject.icontains(text, autoescape=True),
            contacts.c.email.icontains(text, autoescape=True),
            contacts.c.display_name.icontains(text, autoescape=True),
            contacts.c.phone.icontains(text, autoescape=True),
        ]
        digits = text.lstrip("#")
        if digits.isdigit() and len(digits) < 19:
            matches.append(t.number == int(digits))
        where.append(or_(*matches))
    return where


def _order(sort: str) -> list[Any]:
    t = tickets.c
    if sort == "created":
        return [t.created_at.desc(), t.id.desc()]
    if sort == "oldest":
        return [t.created_at.asc(), t.id.asc()]
    if sort == "priority":
        return [priorities.c.position.desc(), t.updated_at.desc(), t.id.desc()]
    if sort == "due":
        due = func.coalesce(func.least(t.reaction_due_at, t.resolution_due_at), t.resolution_due_at)
        return [due.asc().nulls_last(), t.id.desc()]
    return [t.updated_at.desc(), t.id.desc()]


def _joined(query: Any) -> Any:
    return (
        query.outerjoin(contacts, contacts.c.id == tickets.c.contact_id)
        .outerjoin(statuses, statuses.c.id == tickets.c.status_id)
        .outerjoin(priorities, priorities.c.id == tickets.c.priority_id)
        .outerjoin(agents, agents.c.id == tickets.c.responsible_agent_id)
    )


async def inbox_page(
    session: AsyncSession, query: InboxQuery, agent_id: int, *, sees_all: bool, now: datetime
) -> tuple[int, list[dict[str, Any]]]:
    t = tickets.c
    where = _where(query, agent_id, sees_all, now)
    total = await session.scalar(_joined(select(func.count()).select_from(tickets)).where(*where))
    last_kind = (
        select(messages.c.kind)
        .where(messages.c.ticket_id == t.id, messages.c.kind != MessageKind.SYSTEM.value)
        .order_by(messages.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = await session.execute(
        _joined(
            select(
                t.id,
                t.number,
                t.subject,
                t.status,
                t.channel,
                t.created_at,
                t.updated_at,
                t.first_response_at,
                t.reaction_due_at,
                t.resolution_due_at,
                t.sla_paused_at,
                t.rating,
                statuses.c.name.label("status_name"),
                priorities.c.name.label("priority_name"),
                priorities.c.colour.label("priority_colour"),
                contacts.c.display_name.label("contact_name"),
                contacts.c.email.label("contact_email"),
                agents.c.name.label("responsible_name"),
                last_kind.label("last_kind"),
            ).select_from(tickets)
        )
        .where(*where)
        .order_by(*_order(query.sort))
        .limit(query.limit)
        .offset(query.offset)
    )
    return int(total or 0), [dict(r) for r in rows.mappings()]
