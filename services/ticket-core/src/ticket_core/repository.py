"""Persistence for ticket-core: Core statements over an ``AsyncSession``, no business rules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    any_,
    bindparam,
    cast,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Contact, ContactIdentity, Message, OutboxEvent, Ticket

tickets = Ticket.__table__  # type: ignore[attr-defined]
messages = Message.__table__  # type: ignore[attr-defined]
contacts = Contact.__table__  # type: ignore[attr-defined]
identities = ContactIdentity.__table__  # type: ignore[attr-defined]
outbox = OutboxEvent.__table__  # type: ignore[attr-defined]

Identity = tuple[str, str]


def any_of(column: ColumnElement[Any], values: Iterable[Any]) -> ColumnElement[bool]:
    """``column = ANY(:array)``: ``column.in_(values)`` as one statement text whatever the
    number of values. An IN list is rendered anew for every length, so each batch paid
    for compiling it and for preparing a new statement on the server; this one is
    compiled once and stays in the prepared-statement cache (and uses the same index)."""
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))


async def existing_idempotency_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    rows = await session.execute(
        select(messages.c.idempotency_key).where(any_of(messages.c.idempotency_key, keys))
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


async def add_outbox_run(session: AsyncSession, topic: str, payloads: Sequence[str]) -> list[int]:
    """Queue records of one topic as ONE outbox row (the batch path: one row per batch
    instead of one per event, a third of PostgreSQL's work per inbound record was outbox
    rows inserted and deleted). The row holds the records' JSON one per line (compact JSON
    has no raw newline), in order; the relay publishes them one by one."""
    if not payloads:
        return []
    new_id = await session.scalar(
        insert(outbox).values(topic=topic, payload="\n".join(payloads)).returning(outbox.c.id)
    )
    return [int(new_id)]


def _take_outbox(by_id: bool) -> Any:
    # the rows locked by an array built once (a subquery with LIMIT under IN could be
    # re-run); deleted in the same statement: the delete commits only once they are
    # published, and until then other relays skip them
    locked = select(outbox.c.id).order_by(outbox.c.id).limit(bindparam("limit"))
    if by_id:
        locked = locked.where(outbox.c.id == any_(bindparam("ids", type_=ARRAY(BigInteger))))
    return (
        delete(outbox)
        .where(
            outbox.c.id
            == any_(func.array(locked.with_for_update(skip_locked=True).scalar_subquery()))
        )
        .returning(outbox.c.id, outbox.c.topic, outbox.c.payload)
    )


_TAKE_OUTBOX = {by_id: _take_outbox(by_id) for by_id in (False, True)}


async def take_outbox(
    session: AsyncSession, ids: Sequence[int] | None, limit: int
) -> list[tuple[int, str, str]]:
    """Delete and return (in id order) up to ``limit`` unpublished rows (all, or the given
    ids) that no other replica holds: one statement. The caller publishes them before it
    commits; a rollback puts them back."""
    params: dict[str, Any] = {"limit": limit}
    if ids is not None:
        params["ids"] = list(ids)
    result = await session.execute(_TAKE_OUTBOX[ids is not None], params)
    return sorted((int(r[0]), str(r[1]), str(r[2])) for r in result)


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
    # Authors without a contact (unknown senders, agents) are kept in the message's fields.
    senders = await session.execute(
        select(messages.c.fields["sender.email"].astext).where(
            messages.c.ticket_id == ticket_id, messages.c.author_contact_id.is_(None)
        )
    )
    return (
        {str(a).lower() for (a,) in authors}
        | {str(r).lower() for (r,) in recipients}
        | {str(s).lower() for (s,) in senders if s}
    )


async def latest_sender_fields(session: AsyncSession, ticket_id: int) -> dict[str, str]:
    """The ``fields`` of the ticket's latest customer message that has no author contact
    (whose sender is kept in them), or {}."""
    row = await session.execute(
        select(messages.c.fields)
        .where(
            messages.c.ticket_id == ticket_id,
            messages.c.kind == "customer",
            messages.c.author_contact_id.is_(None),
        )
        .order_by(messages.c.id.desc())
        .limit(1)
    )
    found = row.scalar_one_or_none()
    return dict(found) if found else {}


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


async def add_delivery_fields(
    session: AsyncSession, outbound_id: str, fields: dict[str, str]
) -> None:
    """Merge facts of the sending into the message's ``fields``."""
    await session.execute(
        update(messages)
        .where(messages.c.outbound_id == outbound_id)
        .values(fields=messages.c.fields.op("||")(cast(fields, JSONB)))
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


# --- building blocks of set-based writes (ingestion: batch_repo.py) ----------------


async def allocate_ids(session: AsyncSession, sequence: str, count: int) -> list[int]:
    """Take ``count`` values from a sequence in one round trip."""
    if count == 0:
        return []
    rows = await session.execute(
        select(func.nextval(sequence)).select_from(func.generate_series(1, count))
    )
    return [int(r[0]) for r in rows]


async def allocate_id_sets(
    session: AsyncSession, wanted: Sequence[tuple[str, int]]
) -> list[list[int]]:
    """``allocate_ids`` for several sequences in one round trip: per (sequence, count), that
    many new values (one statement text per number of sequences)."""
    if not any(count for _, count in wanted):
        return [[] for _ in wanted]
    columns = ", ".join(
        f"ARRAY(SELECT nextval(CAST(:s{i} AS regclass)) FROM generate_series(1, :n{i}))"
        for i in range(len(wanted))
    )
    params: dict[str, Any] = {}
    for i, (sequence, count) in enumerate(wanted):
        params |= {f"s{i}": sequence, f"n{i}": count}
    row = (await session.execute(text(f"SELECT {columns}"), params)).one()
    return [[int(v) for v in values] for values in row]


async def insert_rows(session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """One executemany INSERT of rows with the same keys (they carry their pre-allocated ids).

    Sent as plain SQL with positional parameters, each value passed through its column
    type's bind processor (JSON serialised as SQLAlchemy would) and missing columns
    given their scalar defaults: SQLAlchemy's own executemany built a parameter dict per
    row through its generic machinery, a tenth of ingestion's CPU. A table whose missing
    columns have other Python-side defaults (sequences, callables) goes through
    SQLAlchemy."""
    if not rows:
        return
    conn = await session.connection()
    plan = _insert_plan(table, tuple(rows[0]), conn.dialect)
    if plan is None:
        await session.execute(insert(table), list(rows))
        return
    sql, names, processors, defaults = plan
    params = [
        tuple(
            [
                value if process is None or value is None else process(value)
                for value, process in zip((row[n] for n in names), processors, strict=True)
            ]
            + defaults
        )
        for row in rows
    ]
    await conn.exec_driver_sql(sql, params)


_InsertPlan = tuple[str, tuple[str, ...], list[Any], list[Any]]
_INSERT_PLANS: dict[tuple[str, tuple[str, ...]], _InsertPlan | None] = {}


def _insert_plan(table: Any, names: tuple[str, ...], dialect: Any) -> _InsertPlan | None:
    key = (table.name, names)
    if key not in _INSERT_PLANS:
        missing = [c for c in table.columns if c.name not in names and c.default is not None]
        if any(not c.default.is_scalar or callable(c.default.arg) for c in missing):
            _INSERT_PLANS[key] = None
        else:
            columns = [table.c[n] for n in names] + missing
            processors = [c.type._cached_bind_processor(dialect) for c in columns[: len(names)]]
            defaults = [
                c.default.arg
                if (p := c.type._cached_bind_processor(dialect)) is None
                else p(c.default.arg)
                for c in missing
            ]
            quote = dialect.identifier_preparer.quote
            sql = (
                f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) "
                f"VALUES ({', '.join(f'${i}' for i in range(1, len(columns) + 1))})"
            )
            _INSERT_PLANS[key] = (sql, names, processors, defaults)
    return _INSERT_PLANS[key]
