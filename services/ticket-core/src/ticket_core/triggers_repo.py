"""Statements of triggers and macros: rules in order, firing records, the time scan, tags."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from .models_org import companies
from .models_triggers import firings, time_checks, triggers
from .repository import any_of, contacts, messages, tickets


async def enabled_triggers(session: AsyncSession, events: Sequence[str]) -> list[dict[str, Any]]:
    """The enabled triggers of the given events, in their order."""
    if not events:
        return []
    rows = await session.execute(
        select(triggers)
        .where(triggers.c.enabled, triggers.c.event.in_(list(events)))
        .order_by(triggers.c.position, triggers.c.id)
    )
    return [dict(r) for r in rows.mappings()]


async def next_position(session: AsyncSession) -> int:
    top = await session.scalar(select(func.max(triggers.c.position)))
    return int(top or 0) + 1


async def lock_all_triggers(session: AsyncSession) -> list[int]:
    """Every trigger id in order, locked (a reorder against concurrent creates/deletes)."""
    rows = await session.execute(
        select(triggers.c.id).order_by(triggers.c.position, triggers.c.id).with_for_update()
    )
    return [int(r[0]) for r in rows]


async def set_positions(session: AsyncSession, ordered_ids: Sequence[int], now: datetime) -> None:
    if ordered_ids:
        await session.execute(
            update(triggers)
            .where(triggers.c.id == bindparam("b_id"))
            .values(position=bindparam("b_position"), updated_at=now),
            [{"b_id": t, "b_position": i} for i, t in enumerate(ordered_ids, start=1)],
        )


async def claim_firing(
    session: AsyncSession, trigger_id: int, event_id: str, ticket_id: int
) -> bool:
    """Record that the trigger fires on the event; False if it already did (a redelivery).
    A concurrent claim of the same pair waits for the first transaction, then sees it."""
    row = await session.execute(
        insert(firings)
        .values(trigger_id=trigger_id, event_id=event_id, ticket_id=ticket_id)
        .on_conflict_do_nothing(index_elements=[firings.c.trigger_id, firings.c.event_id])
        .returning(firings.c.trigger_id)
    )
    return row.first() is not None


async def firing_failed(session: AsyncSession, trigger_id: int, event_id: str, error: str) -> None:
    await session.execute(
        update(firings)
        .where(firings.c.trigger_id == trigger_id, firings.c.event_id == event_id)
        .values(error=error[:1000])
    )


async def firings_of(session: AsyncSession, ticket_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(firings).where(firings.c.ticket_id == ticket_id).order_by(firings.c.fired_at)
    )
    return [dict(r) for r in rows.mappings()]


async def context_rows(
    session: AsyncSession, ticket: dict[str, Any], message_id: int | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, Any] | None]:
    """(contact, company, message) of a ticket; without ``message_id``, its latest message."""
    contact = company = message = None
    if ticket.get("contact_id") is not None:
        found = (
            (await session.execute(select(contacts).where(contacts.c.id == ticket["contact_id"])))
            .mappings()
            .first()
        )
        contact = dict(found) if found else None
    company_id = ticket.get("company_id") or (contact or {}).get("company_id")
    if company_id is not None:
        found = (
            (await session.execute(select(companies).where(companies.c.id == company_id)))
            .mappings()
            .first()
        )
        company = dict(found) if found else None
    query = select(messages)
    if message_id is not None:
        query = query.where(messages.c.id == message_id)
    else:
        query = (
            query.where(messages.c.ticket_id == ticket["id"])
            .order_by(messages.c.id.desc())
            .limit(1)
        )
    found = (await session.execute(query)).mappings().first()
    message = dict(found) if found else None
    return contact, company, message


async def context_rows_many(
    session: AsyncSession,
    tickets_by_id: dict[int, dict[str, Any]],
    message_ids: Sequence[int],
    *,
    people: bool = True,
) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """The contacts, companies and messages (by id) of a batch's tickets and events: three
    statements for the whole batch instead of three per event. ``people=False`` skips the
    contacts and companies (no condition reads them)."""
    contact_ids = (
        {t["contact_id"] for t in tickets_by_id.values() if t.get("contact_id")} if people else ()
    )
    found_contacts: dict[int, dict[str, Any]] = {}
    if contact_ids:
        rows = await session.execute(select(contacts).where(any_of(contacts.c.id, contact_ids)))
        found_contacts = {int(r["id"]): dict(r) for r in rows.mappings()}
    company_ids = {
        t.get("company_id")
        or (found_contacts.get(t.get("contact_id") or 0) or {}).get("company_id")
        for t in tickets_by_id.values()
    } - {None}
    if not people:
        company_ids = set()
    found_companies: dict[int, dict[str, Any]] = {}
    if company_ids:
        rows = await session.execute(select(companies).where(any_of(companies.c.id, company_ids)))
        found_companies = {int(r["id"]): dict(r) for r in rows.mappings()}
    found_messages: dict[int, dict[str, Any]] = {}
    if message_ids:
        rows = await session.execute(
            select(messages).where(any_of(messages.c.id, set(message_ids)))
        )
        found_messages = {int(r["id"]): dict(r) for r in rows.mappings()}
    return found_contacts, found_companies, found_messages


async def tickets_by_ids(session: AsyncSession, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The tickets' current rows, not locked (what the trigger consumer evaluates first)."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.execute(select(tickets).where(any_of(tickets.c.id, wanted)))
    return {int(r["id"]): dict(r) for r in rows.mappings()}


async def message_kinds(
    session: AsyncSession, message_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """Per message id: its kind and whether it is automatic (auto-reply, bounce)."""
    if not message_ids:
        return {}
    rows = await session.execute(
        select(
            messages.c.id, messages.c.kind, messages.c.auto_submitted, messages.c.is_bounce
        ).where(any_of(messages.c.id, set(message_ids)))
    )
    return {int(r["id"]): dict(r) for r in rows.mappings()}


async def set_tags(
    session: AsyncSession, ticket_id: int, tags: Sequence[str], now: datetime
) -> None:
    await session.execute(
        update(tickets).where(tickets.c.id == ticket_id).values(tags=list(tags), updated_at=now)
    )


async def enabled_time_triggers(session: AsyncSession) -> list[dict[str, Any]]:
    return await enabled_triggers(session, ["time"])


async def claim_time_candidates(
    session: AsyncSession, trigger: dict[str, Any], cutoff: datetime, limit: int
) -> list[dict[str, Any]]:
    """Lock up to ``limit`` tickets (not closed) whose anchor time is at or before ``cutoff``
    and that this trigger has not yet fired on in that period, nor found not matching in
    their current state (``updated_at``); rows another replica holds are skipped."""
    anchor = tickets.c[trigger["time_anchor"]]
    seen = exists().where(
        time_checks.c.trigger_id == trigger["id"],
        time_checks.c.ticket_id == tickets.c.id,
        time_checks.c.period == anchor,
        or_(
            time_checks.c.fired,
            and_(
                time_checks.c.ticket_updated_at.is_not(None),
                time_checks.c.ticket_updated_at == tickets.c.updated_at,
            ),
        ),
    )
    rows = await session.execute(
        select(tickets)
        .where(anchor.is_not(None), anchor <= cutoff, tickets.c.status != "closed", ~seen)
        .order_by(anchor, tickets.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, key_share=True)
    )
    return [dict(r) for r in rows.mappings()]


async def record_time_check(
    session: AsyncSession,
    trigger_id: int,
    ticket: dict[str, Any],
    period: datetime,
    *,
    fired: bool,
    error: str | None,
    now: datetime,
) -> None:
    values = {
        "trigger_id": trigger_id,
        "ticket_id": ticket["id"],
        "period": period,
        "fired": fired,
        "ticket_updated_at": ticket.get("updated_at"),
        "error": error[:1000] if error else None,
        "checked_at": now,
    }
    statement = insert(time_checks).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[
                time_checks.c.trigger_id,
                time_checks.c.ticket_id,
                time_checks.c.period,
            ],
            set_={
                "fired": statement.excluded.fired,
                "ticket_updated_at": statement.excluded.ticket_updated_at,
                "error": statement.excluded.error,
                "checked_at": statement.excluded.checked_at,
            },
        )
    )
