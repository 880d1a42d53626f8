"""Persistence of ticket links: a ticket's links both ways (the ``ticket_links`` rows and
the ingestion-made columns), adding and removing rows, the cycle walk. No rules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Text,
    and_,
    case,
    cast,
    delete,
    func,
    literal,
    null,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from .models_links import ticket_links
from .repository import tickets
from .ticket_links_rules import StoredLink

# Serialises changes to directed links (parent, duplicate_of) across transactions, so
# two concurrent additions cannot close a cycle between them. Link changes are rare.
_DIRECTED_LOCK = 0x71C4_11A7


def _links_query(ticket_id: int) -> Any:
    """(kind, other_id, created_at, created_by_agent_id, manual) of every link of a ticket."""
    links = ticket_links.c
    inverse = case(
        (links.kind == "parent", literal("child")),
        (links.kind == "duplicate_of", literal("duplicated_by")),
        else_=links.kind,
    )
    other = tickets.alias("other_ticket")
    none_agent = cast(null(), BigInteger)
    rows = [
        select(
            links.kind.label("kind"),
            links.linked_ticket_id.label("other_id"),
            links.created_at.label("linked_at"),
            links.created_by_agent_id.label("agent_id"),
            literal(True).label("manual"),
        ).where(links.ticket_id == ticket_id),
        select(
            inverse, links.ticket_id, links.created_at, links.created_by_agent_id, literal(True)
        ).where(links.linked_ticket_id == ticket_id),
    ]
    this = tickets.alias("this_ticket")
    for column, kind, inverse_kind in (
        ("follow_up_of_id", "follow_up_of", "followed_up_by"),
        ("possible_duplicate_of_id", "possible_duplicate_of", "possibly_duplicated_by"),
    ):
        rows.append(
            select(
                cast(literal(kind), Text),
                this.c[column],
                this.c.created_at,
                none_agent,
                literal(False),
            ).where(this.c.id == ticket_id, this.c[column].is_not(None))
        )
        rows.append(
            select(
                cast(literal(inverse_kind), Text),
                other.c.id,
                other.c.created_at,
                none_agent,
                literal(False),
            ).where(other.c[column] == ticket_id)
        )
    return union_all(*rows).subquery("links_of_ticket")


async def links_of(
    session: AsyncSession,
    ticket_id: int,
    *,
    limit: int,
    offset: int,
    other_filter: Sequence[Any] = (),
) -> tuple[int, list[dict[str, Any]]]:
    """A page of the ticket's links, oldest first, each with the other ticket's number,
    subject and status; ``other_filter``: WHERE clauses on ``tickets`` the other ticket
    must meet (a specialist's visibility)."""
    found = _links_query(ticket_id)
    joined = found.join(tickets, tickets.c.id == found.c.other_id)
    where = list(other_filter)
    total = await session.scalar(select(func.count()).select_from(joined).where(*where))
    rows = await session.execute(
        select(
            found.c.kind,
            found.c.other_id,
            found.c.linked_at,
            found.c.agent_id,
            found.c.manual,
            tickets.c.number,
            tickets.c.subject,
            tickets.c.status,
        )
        .select_from(joined)
        .where(*where)
        .order_by(found.c.linked_at, found.c.other_id, found.c.kind)
        .limit(limit)
        .offset(offset)
    )
    return int(total or 0), [dict(r) for r in rows.mappings()]


async def lock_directed(session: AsyncSession) -> None:
    await session.execute(select(func.pg_advisory_xact_lock(_DIRECTED_LOCK)))


async def exists(session: AsyncSession, link: StoredLink) -> bool:
    found = await session.scalar(select(ticket_links.c.id).where(*_matches(link)))
    return found is not None


async def duplicate_target(session: AsyncSession, ticket_id: int) -> int | None:
    """The ticket ``ticket_id`` is marked a duplicate of, if any."""
    found = await session.scalar(
        select(ticket_links.c.linked_ticket_id).where(
            ticket_links.c.ticket_id == ticket_id, ticket_links.c.kind == "duplicate_of"
        )
    )
    return int(found) if found is not None else None


async def reachable(session: AsyncSession, start: int, kind: str) -> set[int]:
    """``start`` and every ticket reached from it following ``kind`` links forward
    (the ancestors of a ticket, for ``parent``)."""
    rows = await session.execute(
        text(
            """
            WITH RECURSIVE up(id) AS (
                SELECT CAST(:start AS BIGINT)
                UNION
                SELECT l.linked_ticket_id FROM ticket_links l JOIN up ON l.ticket_id = up.id
                WHERE l.kind = :kind
            )
            SELECT id FROM up
            """
        ),
        {"start": start, "kind": kind},
    )
    return {int(i) for (i,) in rows}


async def add(session: AsyncSession, link: StoredLink, agent_id: int | None) -> bool:
    """Insert; False when the same link exists (or a concurrent one took it)."""
    row = await session.execute(
        insert(ticket_links)
        .values(
            ticket_id=link.ticket_id,
            linked_ticket_id=link.linked_ticket_id,
            kind=link.kind,
            created_by_agent_id=agent_id,
        )
        .on_conflict_do_nothing(index_elements=["ticket_id", "linked_ticket_id", "kind"])
        .returning(ticket_links.c.id)
    )
    return row.scalar_one_or_none() is not None


async def remove(session: AsyncSession, link: StoredLink) -> bool:
    row = await session.execute(
        delete(ticket_links).where(*_matches(link)).returning(ticket_links.c.id)
    )
    return bool(row.all())


def _matches(link: StoredLink) -> list[Any]:
    c = ticket_links.c
    return [
        and_(
            c.ticket_id == link.ticket_id,
            c.linked_ticket_id == link.linked_ticket_id,
            c.kind == link.kind,
        )
    ]


async def tickets_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The columns a link's audit rows and events need."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    t = tickets.c
    rows = await session.execute(
        select(t.id, t.number, t.subject, t.contact_id, t.channel, t.status, t.type_id).where(
            t.id.in_(wanted)
        )
    )
    return {int(r["id"]): dict(r) for r in rows.mappings()}
