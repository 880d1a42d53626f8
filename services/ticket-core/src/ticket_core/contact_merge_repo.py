"""Persistence of contact merges and deletions: locking both contacts, moving what points
at the source, the audit row, deleting. Set-based; no rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from .models_desk import portal_accounts
from .models_links import contact_audit
from .repository import Identity, contacts, identities, messages, tickets

# Tables whose references to contacts this module moves or removes by name; references
# from any other table (found in the catalogue) are moved on a merge too.
_KNOWN = {
    ("tickets", "contact_id"),
    ("messages", "author_contact_id"),
    ("contact_identities", "contact_id"),
    ("portal_accounts", "contact_id"),
    ("contact_audit", "target_contact_id"),
}


async def lock_contacts(session: AsyncSession, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The contacts that exist among ``ids``, locked (id order)."""
    rows = await session.execute(
        select(contacts)
        .where(contacts.c.id.in_(sorted(set(ids))))
        .order_by(contacts.c.id)
        .with_for_update()
    )
    return {int(r["id"]): dict(r) for r in rows.mappings()}


async def identities_of(session: AsyncSession, contact_id: int) -> list[Identity]:
    rows = await session.execute(
        select(identities.c.kind, identities.c.value)
        .where(identities.c.contact_id == contact_id)
        .order_by(identities.c.id)
    )
    return [(str(k), str(v)) for k, v in rows]


async def portal_login(session: AsyncSession, contact_id: int) -> str | None:
    found = await session.scalar(
        select(portal_accounts.c.login).where(portal_accounts.c.contact_id == contact_id)
    )
    return str(found) if found is not None else None


async def counts(session: AsyncSession, contact_id: int) -> tuple[int, int]:
    """(tickets of the contact, messages the contact wrote on other contacts' tickets)."""
    own = await session.scalar(
        select(func.count()).select_from(tickets).where(tickets.c.contact_id == contact_id)
    )
    written = await session.scalar(
        select(func.count()).select_from(messages).where(messages.c.author_contact_id == contact_id)
    )
    return int(own or 0), int(written or 0)


async def move_identities(session: AsyncSession, source_id: int, target_id: int) -> int:
    result = await session.execute(
        update(identities)
        .where(identities.c.contact_id == source_id)
        .values(contact_id=target_id)
        .returning(identities.c.id)
    )
    return len(result.all())


async def add_free_identities(
    session: AsyncSession, contact_id: int, pairs: Sequence[Identity]
) -> None:
    """Record ``pairs`` for the contact where nobody has them (primary values from before
    identities were kept)."""
    if pairs:
        await session.execute(
            insert(identities)
            .values([{"contact_id": contact_id, "kind": k, "value": v} for k, v in pairs])
            .on_conflict_do_nothing(index_elements=["kind", "value"])
        )


async def move_tickets(
    session: AsyncSession, source_id: int, target_id: int
) -> list[dict[str, Any]]:
    """The moved tickets (id order), with the columns their audit rows and events need."""
    t = tickets.c
    result = await session.execute(
        update(tickets)
        .where(t.contact_id == source_id)
        .values(contact_id=target_id)
        .returning(t.id, t.number, t.contact_id, t.channel, t.status, t.type_id)
    )
    return sorted((dict(r) for r in result.mappings()), key=lambda r: int(r["id"]))


async def move_messages(session: AsyncSession, source_id: int, target_id: int) -> int:
    result = await session.execute(
        update(messages)
        .where(messages.c.author_contact_id == source_id)
        .values(author_contact_id=target_id)
        .returning(messages.c.id)
    )
    return len(result.all())


async def move_portal_account(session: AsyncSession, source_id: int, target_id: int) -> bool:
    result = await session.execute(
        update(portal_accounts)
        .where(portal_accounts.c.contact_id == source_id)
        .values(contact_id=target_id)
        .returning(portal_accounts.c.contact_id)
    )
    return bool(result.all())


async def other_references(session: AsyncSession) -> list[tuple[str, str]]:
    """(table, column) of single-column foreign keys to ``contacts`` not in ``_KNOWN``."""
    rows = await session.execute(
        text(
            """
            SELECT src.relname, att.attname
            FROM pg_constraint con
            JOIN pg_class src ON src.oid = con.conrelid
            JOIN pg_class dst ON dst.oid = con.confrelid
            JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = con.conkey[1]
            WHERE con.contype = 'f' AND dst.relname = 'contacts'
              AND dst.relnamespace = to_regnamespace(current_schema())::oid
              AND array_length(con.conkey, 1) = 1
            ORDER BY 1, 2
            """
        )
    )
    return [(str(t), str(c)) for t, c in rows if (str(t), str(c)) not in _KNOWN]


async def move_references(
    session: AsyncSession, table: str, column: str, source_id: int, target_id: int
) -> None:
    """Point ``table.column`` (a name from the catalogue, quoted) at the target."""
    await session.execute(
        text(f'UPDATE "{table}" SET "{column}" = :target WHERE "{column}" = :source'),
        {"target": target_id, "source": source_id},
    )


async def repoint_audit(session: AsyncSession, source_id: int, target_id: int) -> None:
    await session.execute(
        update(contact_audit)
        .where(contact_audit.c.target_contact_id == source_id)
        .values(target_contact_id=target_id)
    )


async def set_card(session: AsyncSession, contact_id: int, values: dict[str, Any]) -> None:
    if values:
        await session.execute(update(contacts).where(contacts.c.id == contact_id).values(**values))


async def record(
    session: AsyncSession,
    contact_id: int,
    action: str,
    target_id: int | None,
    agent_id: int | None,
    snapshot: dict[str, Any],
    now: datetime,
) -> int:
    row = await session.execute(
        insert(contact_audit)
        .values(
            contact_id=contact_id,
            action=action,
            target_contact_id=target_id,
            agent_id=agent_id,
            snapshot=snapshot,
            created_at=now,
        )
        .returning(contact_audit.c.id)
    )
    return int(row.scalar_one())


async def delete_contact(session: AsyncSession, contact_id: int) -> None:
    """The contact with its identities and portal account (nothing else may point at it)."""
    await session.execute(delete(portal_accounts).where(portal_accounts.c.contact_id == contact_id))
    await session.execute(delete(identities).where(identities.c.contact_id == contact_id))
    await session.execute(delete(contacts).where(contacts.c.id == contact_id))


async def audit_of(
    session: AsyncSession, contact_id: int, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """A page of the audit rows about a contact: gone (``contact_id``) or merged into
    (``target_contact_id``), oldest first."""
    c = contact_audit.c
    where = (c.contact_id == contact_id) | (c.target_contact_id == contact_id)
    total = await session.scalar(select(func.count()).select_from(contact_audit).where(where))
    rows = await session.execute(
        select(contact_audit).where(where).order_by(c.id).limit(limit).offset(offset)
    )
    return int(total or 0), [dict(r) for r in rows.mappings()]
