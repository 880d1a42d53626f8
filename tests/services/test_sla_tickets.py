"""SLA on tickets against the real PostgreSQL: planned times at ingestion (first matching
rule, business calendar with holidays, shortened and extra working days), the reaction
rule, Pending pausing the resolution clock, and the warning/breach timers firing once.

Registrations use simulated times in 2030 and timers are fired at simulated times in
transactions that are rolled back, so the running ticket-core (whose timers fire on the
real clock) never sees them due; the replica race runs on the real clock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpdesk_common.records import TicketEvent, TicketEventKind
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from ticket_core import crud
from ticket_core import repository as repo
from ticket_core.audit import Actor
from ticket_core.models_sla import sla_rules
from ticket_core.models_workflow import audit as audit_table
from ticket_core.replies import ReplyRequest, ReplySettings, add_reply
from ticket_core.sla_tickets import SLA_COLUMNS, reaction_met
from ticket_core.timers import TimerLoop, fire_due

from .conftest import Desk, webform
from .sla_helpers import berlin, make_calendar, make_company, make_rule, sender

MINUTE = timedelta(minutes=1)
WEEK = timedelta(days=7)
ALWAYS = {
    d: "00:00-24:00"
    for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
}
REPLIES = ReplySettings(email_domain="desk.test", email_account="support")


async def _fire(desk: Desk, at: datetime) -> tuple[list[int], list[TicketEvent]]:
    """Fire every timer due at ``at`` in a transaction, read what it wrote, roll back."""
    async with desk.sessions() as session, session.begin():
        fired = await fire_due(session, at, limit=10_000, auto_close_after=WEEK)
        rows = await session.execute(
            select(repo.outbox.c.payload).where(repo.outbox.c.id.in_(fired.outbox_ids))
        )
        events = [TicketEvent.model_validate_json(p) for (p,) in rows]
        await session.rollback()
    return fired.ticket_ids, events


def _sla_events(events: list[TicketEvent], ticket_id: int) -> list[tuple[str, str, str]]:
    return [
        (e.kind.value, e.details["target"], e.details["due_at"])
        for e in events
        if e.ticket_id == ticket_id
        and e.kind in (TicketEventKind.SLA_WARNING, TicketEventKind.SLA_BREACHED)
    ]


async def test_ingestion_plans_each_new_ticket_by_the_first_matching_rule_on_its_calendar(
    desk: Desk, engine: AsyncEngine
) -> None:
    calendar = await make_calendar(
        desk,
        exception_days=[
            {"date": "2030-01-05", "kind": "working", "hours": "10:00-12:00"},  # a Saturday
            {"date": "2030-01-07", "kind": "holiday", "hours": ""},  # Monday
            {"date": "2030-01-08", "kind": "shortened", "hours": "09:00-14:00"},  # Tuesday
        ],
    )
    a, b = await make_company(desk), await make_company(desk)
    disabled = await make_rule(desk, calendar, reaction=5, resolution=10, company_ids=[a.id])
    await desk_disable(desk, disabled)
    by_category = await make_rule(
        desk,
        calendar,
        reaction=60,
        resolution=240,
        warning=30,
        company_category_ids=[a.category_id],
    )
    by_company = await make_rule(desk, calendar, reaction=120, resolution=960, company_ids=[b.id])
    senders = [sender(a), sender(b), sender(a), "nobody@example.org"]
    friday_17 = berlin(2030, 1, 4, 17)

    # Warm the per-process caches (routing table, catalogue) first, so both measured
    # batches read the same things: run alone, the first batch would also fill them.
    await desk.ingest([webform(f"warm-{uuid.uuid4().hex[:8]}@example.org")], now=friday_17)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        await desk.ingest([webform(s) for s in senders[:2]], now=friday_17)
        small = len(statements)
        statements.clear()
        more = [sender(a), sender(b), sender(a), sender(b), "someone@example.org"]
        await desk.ingest([webform(s) for s in more], now=friday_17)
        large = len(statements)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert large == small  # set-based: the rules are loaded once per batch, not per ticket
    await desk.ingest([webform(s) for s in senders[2:]], now=friday_17)

    tickets = [await desk.ticket_of(s) for s in senders]
    ta, tb, ta2, none = (t for t in tickets if t is not None)
    for ticket in (ta, ta2):
        assert ticket["sla_rule_id"] == by_category  # the disabled rule above it is skipped
        assert ticket["sla_warning_seconds"] == 30 * 60
        assert ticket["reaction_due_at"] == berlin(2030, 1, 4, 18)  # lands on the day's end
        assert ticket["reaction_warn_at"] == berlin(2030, 1, 4, 17, 30)
        # Fri 17-18 (1 h), Sat 10-12 extra day (2 h), Mon holiday, Tue 09-10 (1 h)
        assert ticket["resolution_due_at"] == berlin(2030, 1, 8, 10)
        assert ticket["resolution_warn_at"] == berlin(2030, 1, 8, 9, 30)
    assert tb["sla_rule_id"] == by_company and tb["sla_warning_seconds"] is None
    assert tb["reaction_due_at"] == berlin(2030, 1, 5, 11)  # Fri 1 h + Sat 1 h
    assert tb["reaction_warn_at"] is None
    # Fri 1 h, Sat 2 h, Tue shortened 5 h, Wed 8 h
    assert tb["resolution_due_at"] == berlin(2030, 1, 9, 17)
    assert {c: none[c] for c in SLA_COLUMNS} == {
        **dict.fromkeys(SLA_COLUMNS),
        "sla_paused_seconds": 0.0,
    }


async def desk_disable(desk: Desk, rule_id: int) -> None:
    async with desk.sessions() as session, session.begin():
        await crud.change(session, sla_rules, rule_id, {"enabled": False})


async def test_pending_pauses_resolution_and_resume_moves_it_by_working_time(desk: Desk) -> None:
    calendar = await make_calendar(desk)  # Mon-Fri 09-18 Berlin, weekend closed
    company = await make_company(desk)
    await make_rule(
        desk, calendar, reaction=60, resolution=480, warning=60, company_ids=[company.id]
    )
    email = sender(company)
    await desk.ingest([webform(email)], now=berlin(2030, 1, 11, 10))  # Friday 10:00
    ticket = await desk.ticket_of(email)
    assert ticket is not None
    tid = ticket["id"]
    assert ticket["resolution_due_at"] == berlin(2030, 1, 11, 18)
    agent = Actor.agent(await desk.agent())
    friday_14 = berlin(2030, 1, 11, 14)
    await desk.change(
        [tid], agent, now=friday_14, status="pending", pending_until=berlin(2030, 1, 14, 10)
    )
    paused = await desk.ticket(tid)
    assert paused["sla_paused_at"] == friday_14
    assert paused["resolution_due_at"] == berlin(2030, 1, 11, 18)  # moved only on resume

    # Paused: past the planned resolution nothing fires for it.
    fired, events = await _fire(desk, berlin(2030, 1, 12, 12))
    assert tid not in fired and not _sla_events(events, tid)

    # The pending timer (system) resumes it on Monday 10:00: 4 h were left -> 14:00.
    fired, events = await _fire(desk, berlin(2030, 1, 14, 10))
    assert tid in fired and not _sla_events(events, tid)

    # A customer message resumes it earlier, Monday 09:30: 4 working hours -> 13:30.
    await desk.ingest([webform(email, "any news?")], now=berlin(2030, 1, 14, 9, 30))
    resumed = await desk.ticket(tid)
    assert resumed["status"] == "open"
    assert resumed["resolution_due_at"] == berlin(2030, 1, 14, 13, 30)
    assert resumed["resolution_warn_at"] == berlin(2030, 1, 14, 12, 30)
    assert resumed["sla_paused_at"] is None
    assert resumed["sla_paused_seconds"] == (berlin(2030, 1, 14, 9, 30) - friday_14).total_seconds()
    assert resumed["reaction_due_at"] == ticket["reaction_due_at"]  # reaction is not paused
    audit = [r for r in await desk.audit(tid) if r["field"] == "resolution_due_at"]
    assert [(r["actor"], r["new_value"]) for r in audit] == [
        ("customer", berlin(2030, 1, 14, 13, 30).isoformat())
    ]


async def test_reaction_is_the_first_public_agent_reply_not_an_internal_note(desk: Desk) -> None:
    calendar = await make_calendar(desk, hours=ALWAYS, timezone="UTC")
    company = await make_company(desk)
    await make_rule(desk, calendar, reaction=60, resolution=600, company_ids=[company.id])
    email, other = sender(company), sender(company)
    now = datetime.now(UTC)
    await desk.ingest([webform(email), webform(other)], now=now)
    replied, moved = await desk.ticket_of(email), await desk.ticket_of(other)
    assert replied is not None and moved is not None
    assert replied["reaction_due_at"] == now + 60 * MINUTE

    async with desk.sessions() as session, session.begin():
        await add_reply(session, replied["id"], ReplyRequest("note", internal=True), REPLIES)
    assert (await desk.ticket(replied["id"]))["first_response_at"] is None
    _, events = await _fire(desk, now + 61 * MINUTE)
    assert _sla_events(events, replied["id"]) == [
        ("sla.breached", "reaction", (now + 60 * MINUTE).isoformat())
    ]

    async with desk.sessions() as session, session.begin():
        await add_reply(session, replied["id"], ReplyRequest("On it"), REPLIES)
    await desk.change(
        [moved["id"]], Actor.agent(await desk.agent()), status="pending", pending_until=now + WEEK
    )
    for ticket_id in (replied["id"], moved["id"]):
        ticket = await desk.ticket(ticket_id)
        assert ticket["first_response_at"] is not None
        assert reaction_met(ticket) is True
        _, events = await _fire(desk, now + 61 * MINUTE)
        assert not [e for e in _sla_events(events, ticket_id) if e[1] == "reaction"]


async def test_warning_then_breach_fire_once_each_with_events_and_audit(desk: Desk) -> None:
    calendar = await make_calendar(desk, hours=ALWAYS, timezone="UTC")
    company = await make_company(desk)
    await make_rule(
        desk, calendar, reaction=60, resolution=240, warning=30, company_ids=[company.id]
    )
    email, resolved_email = sender(company), sender(company)
    t0 = datetime(2030, 2, 1, 12, tzinfo=UTC)
    await desk.ingest([webform(email), webform(resolved_email)], now=t0)
    ticket, resolved = await desk.ticket_of(email), await desk.ticket_of(resolved_email)
    assert ticket is not None and resolved is not None
    tid = ticket["id"]
    await desk.change(
        [resolved["id"]], Actor.agent(await desk.agent()), now=t0 + MINUTE, status="resolved"
    )
    reaction_due, resolution_due = (t0 + 60 * MINUTE).isoformat(), (t0 + 240 * MINUTE).isoformat()

    seen: list[tuple[str, str, str]] = []
    silent: list[tuple[str, str, str]] = []
    async with desk.sessions() as session, session.begin():
        for minutes in (29, 30, 45, 60, 61, 209, 210, 211, 240, 300):
            fired = await fire_due(
                session, t0 + minutes * MINUTE, limit=10_000, auto_close_after=100 * WEEK
            )
            rows = await session.execute(
                select(repo.outbox.c.payload).where(repo.outbox.c.id.in_(fired.outbox_ids))
            )
            events = [TicketEvent.model_validate_json(p) for (p,) in rows]
            seen += [(str(minutes), *e[:2]) for e in _sla_events(events, tid)]
            silent += _sla_events(events, resolved["id"])
            for e in events:
                if e.ticket_id == tid and e.kind is TicketEventKind.SLA_WARNING:
                    assert e.details["due_at"] in (reaction_due, resolution_due)
                    assert e.ticket_number == ticket["number"] and e.status == "open"
        rows = await session.execute(
            select(audit_table.c.actor, audit_table.c.field, audit_table.c.reason)
            .where(audit_table.c.ticket_id == tid, audit_table.c.actor == "system")
            .order_by(audit_table.c.id)
        )
        trail = [tuple(r) for r in rows]
        await session.rollback()
    assert seen == [
        ("30", "sla.warning", "reaction"),
        ("60", "sla.breached", "reaction"),
        ("210", "sla.warning", "resolution"),
        ("240", "sla.breached", "resolution"),
    ]
    assert silent == []  # reacted (the agent resolved it) and resolved: nothing fires
    assert [(a, f) for a, f, _ in trail] == [
        ("system", "reaction_warned_at"),
        ("system", "reaction_breached_at"),
        ("system", "resolution_warned_at"),
        ("system", "resolution_breached_at"),
    ]
    assert trail[0][2] == f"SLA warning: reaction due at {reaction_due}"


@pytest.fixture
async def replica_engines(infra) -> AsyncIterator[list[AsyncEngine]]:  # type: ignore[no-untyped-def]
    engines = [create_async_engine(infra.database_url) for _ in range(2)]
    yield engines
    for engine in engines:
        await engine.dispose()


async def test_two_replicas_fire_each_sla_warning_and_breach_once(
    desk: Desk, replica_engines: list[AsyncEngine]
) -> None:
    calendar = await make_calendar(desk, hours=ALWAYS, timezone="UTC")
    company = await make_company(desk)
    await make_rule(
        desk, calendar, reaction=600, resolution=1200, warning=60, company_ids=[company.id]
    )
    senders = [sender(company) for _ in range(6)]
    await desk.ingest([webform(s) for s in senders])
    ids = []
    for email in senders:
        ticket = await desk.ticket_of(email)
        assert ticket is not None
        ids.append(ticket["id"])
    # Due in 1.5 s: the warnings (60 min ahead) are due at once, the breaches right after.
    due = datetime.now(UTC) + timedelta(seconds=1.5)
    await desk.change(
        ids, Actor.agent(await desk.agent()), reaction_due_at=due, resolution_due_at=due
    )
    loops = [
        TimerLoop(
            async_sessionmaker(e, class_=AsyncSession, expire_on_commit=False),
            lambda: None,
            interval=0.05,
            auto_close_after=WEEK,
            batch=2,
        )
        for e in replica_engines
    ]
    stop = asyncio.Event()

    async def drive(loop: TimerLoop) -> None:
        while not stop.is_set():
            await loop.round()
            await asyncio.sleep(0.01)

    tasks = [asyncio.create_task(drive(loop)) for loop in loops]
    deadline = asyncio.get_running_loop().time() + 15
    while asyncio.get_running_loop().time() < deadline:
        rows = [await desk.ticket(i) for i in ids]
        if all(r["reaction_breached_at"] and r["resolution_breached_at"] for r in rows):
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.gather(*tasks)

    markers = (
        "reaction_warned_at",
        "reaction_breached_at",
        "resolution_warned_at",
        "resolution_breached_at",
    )
    for ticket_id in ids:
        fired = [r for r in await desk.audit(ticket_id) if r["field"] in markers]
        # once each, whoever fired it (the running ticket-core is a third replica)
        assert sorted(r["field"] for r in fired) == sorted(markers)
        assert all(r["actor"] == "system" for r in fired)
        by_field = {r["field"]: r["created_at"] for r in fired}
        assert by_field["reaction_warned_at"] < by_field["reaction_breached_at"]
        assert by_field["reaction_breached_at"] >= due
