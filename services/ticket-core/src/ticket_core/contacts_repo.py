"""Persistence of the contacts API: filters, identities, owners of values, counts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from .models_org import agents, companies
from .repository import Identity, contacts, identities, tickets

_PHONE_LIKE = re.compile(r"^[\d\s()+\-.]+$")


def list_filters(
    *, q: str | None, company_id: int | None, email: str | None, phone: str | None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    ids = identities.c
    if company_id is not None:
        where.append(contacts.c.company_id == company_id)
    if email is not None:
        where.append(
            contacts.c.id.in_(select(ids.contact_id).where(ids.kind == "email", ids.value == email))
        )
    if phone is not None:
        where.append(
            contacts.c.id.in_(select(ids.contact_id).where(ids.kind == "phone", ids.value == phone))
        )
    if q:
        matches = [
            contacts.c.display_name.icontains(q, autoescape=True),
            contacts.c.email.icontains(q, autoescape=True),
            contacts.c.phone.icontains(q, autoescape=True),
            contacts.c.id.in_(
                select(ids.contact_id).where(
                    ids.kind.in_(("email", "phone")), ids.value.icontains(q, autoescape=True)
                )
            ),
        ]
        digits = "".join(c for c in q if c.isdigit())
        if _PHONE_LIKE.match(q) and len(digits) >= 3:  # "343 011-22" finds +73430112233
            matches.append(
                contacts.c.id.in_(
                    select(ids.contact_id).where(
                        ids.kind == "phone",
                        func.regexp_replace(ids.value, r"\D", "", "g").contains(digits),
                    )
                )
            )
        where.append(or_(*matches))
    return where


async def identities_of(
    session: AsyncSession, contact_ids: Iterable[int]
) -> dict[int, list[Identity]]:
    """Each contact's identities, oldest first."""
    wanted = sorted(set(contact_ids))
    found: dict[int, list[Identity]] = {i: [] for i in wanted}
    if wanted:
        rows = await session.execute(
            select(identities.c.contact_id, identities.c.kind, identities.c.value)
            .where(identities.c.contact_id.in_(wanted))
            .order_by(identities.c.id)
        )
        for contact_id, kind, value in rows:
            found[int(contact_id)].append((str(kind), str(value)))
    return found


async def ticket_counts(session: AsyncSession, contact_ids: Iterable[int]) -> dict[int, int]:
    wanted = sorted(set(contact_ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(tickets.c.contact_id, func.count())
        .where(tickets.c.contact_id.in_(wanted))
        .group_by(tickets.c.contact_id)
    )
    return {int(c): int(n) for c, n in rows}


async def names(session: AsyncSession, table: Any, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = await session.execute(select(table.c.id, table.c.name).where(table.c.id.in_(wanted)))
    return {int(i): str(n) for i, n in rows}


async def company_names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    return await names(session, companies, ids)


async def agent_names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    return await names(session, agents, ids)


async def company_exists(session: AsyncSession, company_id: int) -> bool:
    found = await session.scalar(select(companies.c.id).where(companies.c.id == company_id))
    return found is not None


async def agent_active(session: AsyncSession, agent_id: int) -> bool:
    return bool(await session.scalar(select(agents.c.active).where(agents.c.id == agent_id)))


async def owners(session: AsyncSession, pairs: Sequence[Identity]) -> dict[Identity, int]:
    """The contact each (kind, value) belongs to, for those that belong to one."""
    if not pairs:
        return {}
    rows = await session.execute(
        select(identities.c.kind, identities.c.value, identities.c.contact_id).where(
            tuple_(identities.c.kind, identities.c.value).in_(list(pairs))
        )
    )
    return {(str(k), str(v)): int(c) for k, v, c in rows}


async def add_identities(session: AsyncSession, contact_id: int, pairs: Sequence[Identity]) -> None:
    """Insert; a pair another contact took meanwhile raises IntegrityError (the API: 409)."""
    if pairs:
        await session.execute(
            insert(identities),
            [{"contact_id": contact_id, "kind": k, "value": v} for k, v in pairs],
        )


async def remove_identities(
    session: AsyncSession, contact_id: int, kinds: Sequence[str], value: str
) -> int:
    result = await session.execute(
        delete(identities)
        .where(
            identities.c.contact_id == contact_id,
            identities.c.kind.in_(list(kinds)),
            identities.c.value == value,
        )
        .returning(identities.c.id)
    )
    return len(result.all())


async def lock_contact(session: AsyncSession, contact_id: int) -> dict[str, Any] | None:
    row = await session.execute(
        select(contacts).where(contacts.c.id == contact_id).with_for_update()
    )
    found = row.mappings().first()
    return dict(found) if found else None


async def set_columns(session: AsyncSession, contact_id: int, values: dict[str, Any]) -> None:
    if values:
        await session.execute(update(contacts).where(contacts.c.id == contact_id).values(**values))
