"""Set-based statements of batch ingestion: one statement per table and batch, whatever
the number of messages (contacts by identity, candidate tickets, executemany updates)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    CompoundSelect,
    Text,
    any_,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from .repository import Identity, any_of, contacts, messages, tickets
from .sla_tickets import MOVE_COLUMNS as SLA_MOVE_COLUMNS


@dataclass
class Owners:
    """Who the identities belong to: the contact id per identity, and those contacts' fields
    that ingestion reads (id, display_name, email, phone, company_id)."""

    ids: dict[Identity, int] = field(default_factory=dict)
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass
class BatchStart:
    """What a batch reads first, in one round trip."""

    stored_keys: set[str]
    """the batch's idempotency keys already stored (duplicates)"""
    config_version: int
    """the desk configuration's version (migration 0017, ``ingest_config.py``)"""
    owners: Owners
    """the contacts that own the senders' identities"""


# The identities are probed one by one in the unique index (see thread_candidates for why
# the subquery is lateral); their contacts come back as one JSON array, with the fields
# ingestion reads. Starts with the text bench/statement_profile.py counts batches by.
_BATCH_START = text(
    """
    SELECT ARRAY(SELECT idempotency_key FROM messages
                 WHERE idempotency_key = ANY(CAST(:keys AS text[]))),
           (SELECT version FROM config_version WHERE id = 1),
           (SELECT json_agg(json_build_object(
                'kind', w.kind, 'value', w.value, 'id', c.id, 'display_name', c.display_name,
                'email', c.email, 'phone', c.phone, 'company_id', c.company_id))
            FROM unnest(CAST(:kinds AS varchar[]), CAST(:values AS varchar[])) AS w(kind, value)
            CROSS JOIN LATERAL (
                SELECT i.contact_id FROM contact_identities AS i
                WHERE i.kind = w.kind AND i.value = w.value OFFSET 0
            ) AS f
            JOIN contacts AS c ON c.id = f.contact_id)
    """
)


async def batch_start(
    session: AsyncSession, keys: Sequence[str], known: Iterable[Identity]
) -> BatchStart:
    """The stored keys among ``keys``, the configuration's version and the owners of the
    ``known`` identities: one statement."""
    pairs = list(set(known))
    row = (
        await session.execute(
            _BATCH_START,
            {
                "keys": list(keys),
                "kinds": [k for k, _ in pairs],
                "values": [v for _, v in pairs],
            },
        )
    ).one()
    owners = Owners()
    for found in row[2] or []:  # json, decoded by the driver (SQLAlchemy's asyncpg codec)
        identity = (str(found.pop("kind")), str(found.pop("value")))
        owners.ids[identity] = int(found["id"])
        owners.contacts.setdefault(int(found["id"]), found)
    return BatchStart(set(row[0]), int(row[1]), owners)


async def contacts_by_identities(
    session: AsyncSession, known: Iterable[Identity]
) -> dict[Identity, int]:
    """The contact id owning each of the ``known`` identities that exists (the same
    statement as ``batch_start``, with no keys)."""
    return (await batch_start(session, [], known)).owners.ids


@dataclass
class Candidates:
    """The tickets a batch's messages may thread into, by what names them."""

    by_number: list[dict[str, Any]] = field(default_factory=list)
    by_message_id: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """(external Message-ID, the ticket of the latest message with that id)"""
    by_conversation: list[dict[str, Any]] = field(default_factory=list)
    """the latest ticket of each conversation key"""


def _thread_candidates_query() -> CompoundSelect[Any]:
    refs = (
        func.unnest(bindparam("refs", type_=ARRAY(messages.c.external_message_id.type)))
        .table_valued("ref")
        .render_derived(name="refs")
    )
    found = (
        select(messages.c.id, messages.c.ticket_id)
        .where(messages.c.external_message_id == refs.c.ref)
        .offset(literal_column("0"))
        .lateral("found")
    )
    keys = bindparam("keys", type_=ARRAY(tickets.c.conversation_key.type))
    latest_per_key = (
        select(tickets)
        .ext(distinct_on(tickets.c.conversation_key))
        .where(tickets.c.conversation_key == any_(keys))
        .order_by(tickets.c.conversation_key, tickets.c.id.desc())
        .subquery("latest")
    )
    numbers = bindparam("numbers", type_=ARRAY(tickets.c.number.type))
    no_message = literal(None, BigInteger)
    return union_all(
        select(
            literal("n").label("_via"),
            cast(tickets.c.number, Text).label("_key"),
            no_message.label("_message_id"),
            *tickets.c,
        ).where(tickets.c.number == any_(numbers)),
        select(literal("m"), refs.c.ref, found.c.id, *tickets.c)
        .select_from(refs)
        .join(found, true())
        .join(tickets, tickets.c.id == found.c.ticket_id),
        select(literal("c"), latest_per_key.c.conversation_key, no_message, *latest_per_key.c),
    )


async def thread_candidates(
    session: AsyncSession,
    numbers: Iterable[int],
    message_ids: Iterable[str],
    conversation_keys: Iterable[str],
) -> Candidates:
    """The tickets named by subject tokens (numbers), by Message-IDs the messages refer to,
    and the latest ticket of each conversation: one statement (UNION ALL, each row tagged
    with what found it), whatever the batch holds.

    The Message-IDs drive their branch: one index probe of ``messages`` per id, then the
    ticket by its key. Before ``messages`` has statistics (a young desk, a restored dump,
    every benchmark: autovacuum's first ANALYZE comes after a minute) PostgreSQL assumes
    each id matches 0.5% of the table and plans a plain join of ``unnest(ids)`` as a hash
    join over a sequential scan of all messages: 8-14 ms per batch in the pipeline
    benchmark, growing with the desk. The lateral subquery's ``OFFSET 0`` keeps it from
    flattening the probe back into that join (2 ms for 70 ids on a cold cache, against
    85 ms)."""
    params = {
        "numbers": list(set(numbers)),
        "refs": list(set(message_ids)),
        "keys": list(set(conversation_keys)),
    }
    result = Candidates()
    latest: dict[str, tuple[int, dict[str, Any]]] = {}
    for r in (await session.execute(_THREAD_CANDIDATES, params)).mappings():
        row = dict(r)
        via, key, message_id = row.pop("_via"), row.pop("_key"), row.pop("_message_id")
        if via == "n":
            result.by_number.append(row)
        elif via == "c":
            result.by_conversation.append(row)
        elif key not in latest or latest[key][0] < message_id:
            latest[key] = (int(message_id), row)
    result.by_message_id = [(ref, row) for ref, (_, row) in latest.items()]
    return result


# Built once: a statement built per batch left its derived columns (proxies of every
# tickets column, with copies of their foreign keys) as cyclic garbage, tens of thousands
# of objects per garbage collection, which then paused the event loop for 20-90 ms.
_THREAD_CANDIDATES = _thread_candidates_query()


async def lock_tickets(session: AsyncSession, ids: Iterable[int]) -> list[dict[str, Any]]:
    """Lock tickets against other writers (not against message inserts: FOR NO KEY UPDATE)
    in id order, and return their current rows."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    rows = await session.execute(
        select(tickets)
        .where(any_of(tickets.c.id, wanted))
        .order_by(tickets.c.id)
        .with_for_update(key_share=True)
    )
    return [dict(r) for r in rows.mappings()]


# New contacts and the identities they (and known contacts) gained, in one statement: a
# foreign key is checked at the statement's end, when the contacts are in. An identity
# another writer took meanwhile is left to it (as before the batch).
_NEW_CONTACTS = text(
    """
    WITH new_contacts AS (
        INSERT INTO contacts (id, display_name, email, phone, company_id)
        SELECT * FROM unnest(
            CAST(:c_id AS bigint[]), CAST(:c_display_name AS text[]), CAST(:c_email AS text[]),
            CAST(:c_phone AS text[]), CAST(:c_company_id AS bigint[])
        )
    )
    INSERT INTO contact_identities (contact_id, kind, value)
    SELECT * FROM unnest(
        CAST(:i_contact_id AS bigint[]), CAST(:i_kind AS text[]), CAST(:i_value AS text[])
    )
    ON CONFLICT DO NOTHING
    """
)
_CONTACT_COLUMNS = ("id", "display_name", "email", "phone", "company_id")
_IDENTITY_COLUMNS = ("contact_id", "kind", "value")


async def insert_contacts_and_identities(
    session: AsyncSession,
    contact_rows: Sequence[dict[str, Any]],
    identity_rows: Sequence[dict[str, Any]],
) -> None:
    """Insert contacts (with their ids) and identities (``contact_id``, ``kind``,
    ``value``) in one round trip."""
    if contact_rows or identity_rows:
        await session.execute(
            _NEW_CONTACTS,
            {f"c_{c}": [r[c] for r in contact_rows] for c in _CONTACT_COLUMNS}
            | {f"i_{c}": [r[c] for r in identity_rows] for c in _IDENTITY_COLUMNS},
        )


# A message only touches its ticket; a status change (reopen, Pending -> Open) also moves
# the clocks. Touching writes no column another writer changes, so it needs no lock.
TOUCH_COLUMNS = ("updated_at", "last_customer_message_at")
STATUS_COLUMNS = (
    *TOUCH_COLUMNS,
    "status",
    "status_id",
    "resolved_at",
    "closed_at",
    "open_since",
    "worked_seconds",
    "reopen_count",
    "pending_until",
    "auto_close_at",
    *SLA_MOVE_COLUMNS,
)


async def update_tickets(
    session: AsyncSession, rows: Sequence[dict[str, Any]], columns: Sequence[str]
) -> None:
    """Executemany UPDATE of ``columns`` from ticket dicts, in id order."""
    if rows:
        await session.execute(
            update(tickets)
            .where(tickets.c.id == bindparam("b_id"))
            .values({c: bindparam(f"b_{c}") for c in columns}),
            [
                {"b_id": t["id"], **{f"b_{c}": t[c] for c in columns}}
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


async def set_first_response(session: AsyncSession, ticket_ids: Iterable[int], now: Any) -> None:
    """First response at ``now`` for the tickets that have none yet (one statement)."""
    wanted = sorted(set(ticket_ids))
    if wanted:
        await session.execute(
            update(tickets)
            .where(tickets.c.id.in_(wanted), tickets.c.first_response_at.is_(None))
            .values(first_response_at=now)
        )
