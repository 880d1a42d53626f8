"""The customer portal's SQL: contacts' portal accounts and the tickets a contact sees.

A contact sees the tickets they are the contact of, or (access ``company``) every ticket
of their company; never a ticket of an internal type, and of a ticket's messages only
the customers' messages and the agents' public replies (no internal notes, no system
notes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import MessageKind
from .models_desk import portal_accounts
from .models_workflow import priorities, statuses, ticket_types
from .repository import contacts, messages, tickets

PUBLIC_KINDS = (MessageKind.CUSTOMER.value, MessageKind.PUBLIC_REPLY.value)


@dataclass(frozen=True)
class PortalUser:
    contact_id: int
    company_id: int | None
    access: str  # own | company
    email: str
    name: str


def visible_clause(user: PortalUser) -> Any:
    """WHERE on ``tickets``: the contact's own (or their company's) non-internal tickets."""
    t = tickets.c
    mine = t.contact_id == user.contact_id
    if user.access == "company" and user.company_id is not None:
        mine = or_(mine, t.company_id == user.company_id)
    internal_types = select(ticket_types.c.id).where(ticket_types.c.internal.is_(True))
    return and_(mine, or_(t.type_id.is_(None), t.type_id.not_in(internal_types)))


async def account_by_login(session: AsyncSession, login: str) -> dict[str, Any] | None:
    row = await session.execute(
        select(portal_accounts).where(portal_accounts.c.login == login.strip().lower())
    )
    found = row.mappings().first()
    return dict(found) if found else None


async def account_of(session: AsyncSession, contact_id: int) -> dict[str, Any] | None:
    row = await session.execute(
        select(portal_accounts).where(portal_accounts.c.contact_id == contact_id)
    )
    found = row.mappings().first()
    return dict(found) if found else None


async def user_of(session: AsyncSession, contact_id: int) -> PortalUser | None:
    """The contact behind a live session, if their account is still active."""
    row = (
        await session.execute(
            select(
                contacts.c.id,
                contacts.c.company_id,
                contacts.c.display_name,
                portal_accounts.c.access,
                portal_accounts.c.login,
            )
            .join(portal_accounts, portal_accounts.c.contact_id == contacts.c.id)
            .where(contacts.c.id == contact_id, portal_accounts.c.active.is_(True))
        )
    ).first()
    if row is None:
        return None
    return PortalUser(int(row.id), row.company_id, row.access, row.login, row.display_name)


async def save_account(
    session: AsyncSession,
    contact_id: int,
    login: str,
    values: dict[str, Any],
    *,
    exists: bool,
) -> dict[str, Any]:
    """Insert the contact's account, or change the given columns of the existing one."""
    if exists:
        statement: Any = (
            update(portal_accounts)
            .where(portal_accounts.c.contact_id == contact_id)
            .values(login=login, **values)
        )
    else:
        statement = insert(portal_accounts).values(contact_id=contact_id, login=login, **values)
    row = await session.execute(statement.returning(portal_accounts))
    return dict(row.mappings().one())


async def set_active(session: AsyncSession, contact_id: int, active: bool) -> bool:
    done = await session.execute(
        update(portal_accounts)
        .where(portal_accounts.c.contact_id == contact_id)
        .values(active=active)
        .returning(portal_accounts.c.contact_id)
    )
    return done.first() is not None


_TICKET_COLUMNS = (
    tickets.c.id,
    tickets.c.number,
    tickets.c.subject,
    tickets.c.status,
    statuses.c.name.label("status_name"),
    tickets.c.type_id,
    ticket_types.c.name.label("type_name"),
    tickets.c.priority_id,
    priorities.c.name.label("priority_name"),
    tickets.c.contact_id,
    contacts.c.display_name.label("contact_name"),
    tickets.c.created_at,
    tickets.c.updated_at,
    tickets.c.resolved_at,
    tickets.c.closed_at,
    tickets.c.rating,
    tickets.c.rating_comment,
    tickets.c.follow_up_of_id,
)


def _select() -> Any:
    return (
        select(*_TICKET_COLUMNS)
        .select_from(tickets)
        .outerjoin(statuses, statuses.c.id == tickets.c.status_id)
        .outerjoin(ticket_types, ticket_types.c.id == tickets.c.type_id)
        .outerjoin(priorities, priorities.c.id == tickets.c.priority_id)
        .outerjoin(contacts, contacts.c.id == tickets.c.contact_id)
    )


async def ticket_page(
    session: AsyncSession, user: PortalUser, status: str | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    where = [visible_clause(user)]
    if status is not None:
        where.append(tickets.c.status == status)
    total = await session.scalar(select(func.count()).select_from(tickets).where(*where))
    rows = await session.execute(
        _select().where(*where).order_by(tickets.c.id.desc()).limit(limit).offset(offset)
    )
    return int(total or 0), [dict(r) for r in rows.mappings()]


async def ticket(session: AsyncSession, user: PortalUser, ticket_id: int) -> dict[str, Any] | None:
    row = await session.execute(_select().where(tickets.c.id == ticket_id, visible_clause(user)))
    found = row.mappings().first()
    return dict(found) if found else None


async def can_see(session: AsyncSession, user: PortalUser, ticket_id: int) -> bool:
    found = await session.scalar(
        select(tickets.c.id).where(tickets.c.id == ticket_id, visible_clause(user))
    )
    return found is not None


async def public_messages(session: AsyncSession, ticket_id: int) -> list[dict[str, Any]]:
    m = messages.c
    rows = await session.execute(
        select(
            m.id,
            m.kind,
            m.author_contact_id,
            contacts.c.display_name.label("author_name"),
            m.text,
            m.html,
            m.attachments,
            m.created_at,
        )
        .outerjoin(contacts, contacts.c.id == m.author_contact_id)
        .where(m.ticket_id == ticket_id, m.kind.in_(PUBLIC_KINDS))
        .order_by(m.id)
    )
    return [dict(r) for r in rows.mappings()]


async def message_by_key(session: AsyncSession, key: str) -> dict[str, Any] | None:
    row = await session.execute(
        select(messages.c.id, messages.c.ticket_id).where(messages.c.idempotency_key == key)
    )
    found = row.mappings().first()
    return dict(found) if found else None
