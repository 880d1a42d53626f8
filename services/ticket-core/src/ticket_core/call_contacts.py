"""Callers as contacts: matched by phone number, created when unknown (no schema change).

A number is looked up as the contact identity ``phone`` (E.164, as SMS and calls store
it), then by its last N digits (``match_digits`` of the phone account, default 10)
against phone identities and contact phone fields, so ``8 343 011-22-33`` on an old
contact is the same person as ``+73430112233``. Scanning by digits has no index yet:
fine for thousands of contacts; an expression index is for a later migration.
"""

from __future__ import annotations

from typing import Any

from helpdesk_common.phone_numbers import last_digits
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from . import repository as repo
from .models_org import Company

companies = Company.__table__  # type: ignore[attr-defined]
OPEN_STATUSES = ("open", "pending")


def _tail(column: Any, count: int) -> Any:
    return func.right(func.regexp_replace(column, r"\D", "", "g"), count)


async def contact_by_number(session: AsyncSession, number: str, digits: int) -> int | None:
    ids = repo.identities.c
    exact = await session.scalar(
        select(ids.contact_id).where(ids.kind == "phone", ids.value == number).limit(1)
    )
    if exact is not None:
        return int(exact)
    tail = last_digits(number, digits)
    if len(tail) < min(digits, 4):
        return None
    by_identity = await session.scalar(
        select(ids.contact_id)
        .where(ids.kind.in_(("phone", "sms")), _tail(ids.value, digits) == tail)
        .order_by(ids.contact_id.desc())
        .limit(1)
    )
    if by_identity is not None:
        return int(by_identity)
    c = repo.contacts.c
    by_field = await session.scalar(
        select(c.id).where(_tail(c.phone, digits) == tail).order_by(c.id.desc()).limit(1)
    )
    return int(by_field) if by_field is not None else None


async def ensure_contact(session: AsyncSession, number: str, digits: int) -> dict[str, Any]:
    """The caller's contact (created with the number as its phone identity when unknown)."""
    contact_id = await contact_by_number(session, number, digits)
    if contact_id is None:
        [contact_id] = await repo.allocate_ids(session, "contacts_id_seq", 1)
        await repo.insert_rows(
            session, repo.contacts, [{"id": contact_id, "display_name": "", "phone": number}]
        )
    if number.startswith("+"):
        await session.execute(
            insert(repo.identities)
            .values(contact_id=contact_id, kind="phone", value=number)
            .on_conflict_do_nothing()
        )
    contact = await repo.contact_by_id(session, contact_id)
    assert contact is not None
    return contact


async def caller_card(session: AsyncSession, number: str, digits: int) -> dict[str, Any]:
    """Contact, company and open tickets of a caller (empty when unknown)."""
    contact_id = await contact_by_number(session, number, digits)
    if contact_id is None:
        return {"number": number, "contact": None, "company": None, "open_tickets": []}
    contact = await repo.contact_by_id(session, contact_id)
    assert contact is not None
    company = None
    if contact.get("company_id"):
        row = await session.execute(
            select(companies.c.id, companies.c.name).where(companies.c.id == contact["company_id"])
        )
        found = row.mappings().first()
        company = dict(found) if found else None
    t = repo.tickets.c
    rows = await session.execute(
        select(t.id, t.number, t.subject, t.status)
        .where(t.contact_id == contact_id, t.status.in_(OPEN_STATUSES))
        .order_by(t.updated_at.desc())
        .limit(10)
    )
    return {
        "number": number,
        "contact": {k: contact.get(k) for k in ("id", "display_name", "email", "phone")},
        "company": company,
        "open_tickets": [dict(r) for r in rows.mappings()],
    }
