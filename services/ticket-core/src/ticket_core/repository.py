"""Persistence for ticket-core: Core statements over an ``AsyncSession``, no business rules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Contact, ContactIdentity, Message, OutboxEvent, Ticket

tickets = Ticket.__table__  # type: ignore[attr-defined]
messages = Message.__table__  # type: ignore[attr-defined]
contacts = Contact.__table__  # type: ignore[attr-defined]
identities = ContactIdentity.__table__  # type: ignore[attr-defined]
outbox = OutboxEvent.__table__  # type: ignore[attr-defined]

Identity = tuple[str, str]


async def existing_idempotency_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    rows = await session.execute(
        select(messages.c.idempotency_key).where(messages.c.idempotency_key.in_(keys))
    )
    return {r[0] for r in rows}


async def ticket_by_message_ids(
    session: AsyncSession, message_ids: Sequence[str]
) -> dict[str, Any] | None:
    if not message_ids:
        return None
    row = await session.execute(
        select(tickets)
        .join(messages, messages.c.ticket_id == tickets.c.id)
        .where(messages.c.external_message_id.in_(message_ids))
        .order_by(messages.c.id.desc())
        .limit(1)
    )
    found = row.mappings().first()
    return dict(found) if found else None


async def touch_ticket(
    session: AsyncSession,
    ticket_id: int,
    now: datetime,
    *,
    customer: bool,
    first_response: bool = False,
) -> None:
    values: dict[str, Any] = {"updated_at": now}
    if customer:
        values["last_customer_message_at"] = now
    if first_response:
        values["first_response_at"] = func.coalesce(tickets.c.first_response_at, now)
    await session.execute(update(tickets).where(tickets.c.id == ticket_id).values(**values))


async def insert_message(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """Insert unless the idempotency key is already stored; returns the new id or None."""
    row = await session.execute(
        insert(messages)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[messages.c.idempotency_key])
        .returning(messages.c.id)
    )
    new_id = row.scalar_one_or_none()
    return int(new_id) if new_id is not None else None


async def add_outbox(session: AsyncSession, rows: Sequence[tuple[str, str]]) -> list[int]:
    """Queue (topic, payload) records for publication; returns their outbox ids in order."""
    ids = await allocate_ids(session, "outbox_id_seq", len(rows))
    await insert_rows(
        session,
        outbox,
        [{"id": i, "topic": t, "payload": p} for i, (t, p) in zip(ids, rows, strict=True)],
    )
    return ids


async def lock_outbox(
    session: AsyncSession, ids: Sequence[int] | None, limit: int
) -> list[tuple[int, str, str]]:
    """Lock unpublished rows (all, or the given ids) that no other replica holds."""
    query = select(outbox.c.id, outbox.c.topic, outbox.c.payload).order_by(outbox.c.id).limit(limit)
    if ids is not None:
        query = query.where(outbox.c.id.in_(ids))
    result = await session.execute(query.with_for_update(skip_locked=True))
    return [(int(r[0]), str(r[1]), str(r[2])) for r in result]


async def delete_outbox(session: AsyncSession, ids: Sequence[int]) -> None:
    await session.execute(delete(outbox).where(outbox.c.id.in_(ids)))


async def ticket_by_id(session: AsyncSession, ticket_id: int) -> dict[str, Any] | None:
    row = await session.execute(select(tickets).where(tickets.c.id == ticket_id))
    found = row.mappings().first()
    return dict(found) if found else None


async def contact_by_id(session: AsyncSession, contact_id: int) -> dict[str, Any] | None:
    row = await session.execute(select(contacts).where(contacts.c.id == contact_id))
    found = row.mappings().first()
    return dict(found) if found else None


async def identity_value(session: AsyncSession, contact_id: int, kind: str) -> str | None:
    row = await session.execute(
        select(identities.c.value)
        .where(identities.c.contact_id == contact_id, identities.c.kind == kind)
        .order_by(identities.c.id.desc())
        .limit(1)
    )
    value = row.scalar_one_or_none()
    return str(value) if value is not None else None


async def thread_message_ids(
    session: AsyncSession, ticket_id: int, limit: int = 20
) -> list[tuple[str, str]]:
    """(kind, Message-ID) of the ticket's messages that have one, oldest first (last ``limit``)."""
    rows = await session.execute(
        select(messages.c.kind, messages.c.external_message_id)
        .where(messages.c.ticket_id == ticket_id, messages.c.external_message_id.is_not(None))
        .order_by(messages.c.id.desc())
        .limit(limit)
    )
    return [(str(k), str(m)) for k, m in reversed(rows.all())]


async def addresses_on_ticket(session: AsyncSession, ticket_id: int) -> set[str]:
    """Every email address seen on the ticket's thread: authors and To/Cc recipients."""
    authors = await session.execute(
        select(contacts.c.email)
        .join(messages, messages.c.author_contact_id == contacts.c.id)
        .where(messages.c.ticket_id == ticket_id, contacts.c.email.is_not(None))
    )
    recipients = await session.execute(
        select(func.jsonb_array_elements_text(messages.c.recipients)).where(
            messages.c.ticket_id == ticket_id
        )
    )
    return {str(a).lower() for (a,) in authors} | {str(r).lower() for (r,) in recipients}


async def message_by_external_id(session: AsyncSession, external_id: str) -> dict[str, Any] | None:
    row = await session.execute(
        select(messages)
        .where(messages.c.external_message_id == external_id)
        .order_by(messages.c.id)
        .limit(1)
    )
    found = row.mappings().first()
    return dict(found) if found else None


async def delivery_states(
    session: AsyncSession, outbound_ids: Sequence[str]
) -> dict[str, str | None]:
    rows = await session.execute(
        select(messages.c.outbound_id, messages.c.delivery_state).where(
            messages.c.outbound_id.in_(outbound_ids)
        )
    )
    return {str(o): s for o, s in rows}


async def set_delivery(
    session: AsyncSession, outbound_id: str, state: str, reason: str | None
) -> None:
    await session.execute(
        update(messages)
        .where(messages.c.outbound_id == outbound_id)
        .values(delivery_state=state, delivery_reason=reason)
    )


async def set_delivery_by_message_id(
    session: AsyncSession, message_id: int, state: str, reason: str | None
) -> None:
    await session.execute(
        update(messages)
        .where(messages.c.id == message_id)
        .values(delivery_state=state, delivery_reason=reason)
    )


async def message_by_id(session: AsyncSession, message_id: int) -> dict[str, Any]:
    row = await session.execute(select(messages).where(messages.c.id == message_id))
    return dict(row.mappings().one())


# --- set-based statements for batch ingestion ---------------------------------------


async def allocate_ids(session: AsyncSession, sequence: str, count: int) -> list[int]:
    """Take ``count`` values from a sequence in one round trip."""
    if count == 0:
        return []
    rows = await session.execute(
        select(func.nextval(sequence)).select_from(func.generate_series(1, count))
    )
    return [int(r[0]) for r in rows]


async def contacts_by_identities(
    session: AsyncSession, known: Iterable[Identity]
) -> dict[Identity, int]:
    pairs = list(set(known))
    if not pairs:
        return {}
    rows = await session.execute(
        select(identities.c.kind, identities.c.value, identities.c.contact_id).where(
            tuple_(identities.c.kind, identities.c.value).in_(pairs)
        )
    )
    return {(str(k), str(v)): int(c) for k, v, c in rows}


async def contacts_by_ids(session: AsyncSession, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(select(contacts).where(contacts.c.id.in_(wanted)))
    return {int(r["id"]): dict(r) for r in rows.mappings()}


async def tickets_by_numbers(session: AsyncSession, numbers: Iterable[int]) -> list[dict[str, Any]]:
    wanted = list(set(numbers))
    if not wanted:
        return []
    rows = await session.execute(select(tickets).where(tickets.c.number.in_(wanted)))
    return [dict(r) for r in rows.mappings()]


async def tickets_by_message_id_map(
    session: AsyncSession, message_ids: Iterable[str]
) -> list[tuple[str, dict[str, Any]]]:
    """(external Message-ID, its ticket) for every stored message with one of the ids."""
    wanted = list(set(message_ids))
    if not wanted:
        return []
    rows = await session.execute(
        select(messages.c.external_message_id.label("_ref"), tickets)
        .join(tickets, tickets.c.id == messages.c.ticket_id)
        .where(messages.c.external_message_id.in_(wanted))
    )
    found = []
    for r in rows.mappings():
        row = dict(r)
        found.append((str(row.pop("_ref")), row))
    return found


async def latest_tickets_for_conversations(
    session: AsyncSession, keys: Iterable[str]
) -> list[dict[str, Any]]:
    wanted = list(set(keys))
    if not wanted:
        return []
    rows = await session.execute(
        select(tickets)
        .ext(distinct_on(tickets.c.conversation_key))
        .where(tickets.c.conversation_key.in_(wanted))
        .order_by(tickets.c.conversation_key, tickets.c.id.desc())
    )
    return [dict(r) for r in rows.mappings()]


async def insert_rows(session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """One executemany INSERT; rows carry their (pre-allocated) ids."""
    if rows:
        await session.execute(insert(table), list(rows))


async def insert_identity_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(identities).on_conflict_do_nothing(), list(rows))


_TICKET_UPDATE = (
    "status",
    "status_id",
    "updated_at",
    "last_customer_message_at",
    "resolved_at",
    "closed_at",
    "open_since",
    "worked_seconds",
    "reopen_count",
    "pending_until",
    "auto_close_at",
)


async def update_tickets(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Executemany UPDATE of status, clocks and timestamps from ticket dicts, in id order
    (two writers locking the same tickets lock them in the same order)."""
    if rows:
        await session.execute(
            update(tickets)
            .where(tickets.c.id == bindparam("b_id"))
            .values({c: bindparam(f"b_{c}") for c in _TICKET_UPDATE}),
            [
                {"b_id": t["id"], **{f"b_{c}": t[c] for c in _TICKET_UPDATE}}
                for t in sorted(rows, key=lambda t: int(t["id"]))
            ],
        )


async def update_contacts(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(
            update(contacts)
            .where(contacts.c.id == bindparam("b_id"))
            .values(
                email=bindparam("b_email"),
                phone=bindparam("b_phone"),
                display_name=bindparam("b_display_name"),
            ),
            list(rows),
        )
