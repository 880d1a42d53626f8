"""Status rules: every category move (pure), and status changes on PostgreSQL: custom
statuses, pending needs an until-time, first response, audit rows, events, the
resolution clock (the issue's example) and reopen counting."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpdesk_common.records import TicketEvent, TicketEventKind
from sqlalchemy import select
from ticket_core import crud
from ticket_core import repository as repo
from ticket_core.audit import Actor
from ticket_core.models_workflow import statuses, ticket_types
from ticket_core.statuses import TransitionError, check_transition, enter, resolution_seconds
from ticket_core.workflow import ChangeRequest, apply_changes

from .conftest import Desk, unique, webform

CATEGORIES = ("open", "pending", "resolved", "closed")
ALLOWED = {
    ("open", "pending"),
    ("open", "resolved"),
    ("pending", "open"),
    ("pending", "resolved"),
    ("resolved", "closed"),
    ("resolved", "open"),
}
T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(("old", "new"), list(itertools.product(CATEGORIES, CATEGORIES)))
def test_every_category_move_is_allowed_or_refused_with_a_reason(old: str, new: str) -> None:
    if (old, new) in ALLOWED or (old == new and old != "closed"):
        check_transition(old, new)
        return
    with pytest.raises(TransitionError) as refused:
        check_transition(old, new)
    message = str(refused.value)
    assert (
        ("closed is final" in message) if old == "closed" else (f"from {old} to {new}" in message)
    )


def _ticket(status: str, **extra: Any) -> dict[str, Any]:
    return {"status": status, "status_id": 1, "worked_seconds": 0.0, "reopen_count": 0, **extra}


def test_pending_needs_a_future_until_time_and_only_pending_takes_one() -> None:
    ticket = _ticket("open", open_since=T0)
    with pytest.raises(TransitionError, match="needs an until-time"):
        enter(ticket, "pending", 2, T0 + HOUR)
    with pytest.raises(TransitionError, match="in the future"):
        enter(ticket, "pending", 2, T0 + HOUR, pending_until=T0)
    with pytest.raises(TransitionError, match="timezone"):
        enter(ticket, "pending", 2, T0, pending_until=datetime(2031, 1, 1))
    with pytest.raises(TransitionError, match="only for pending"):
        enter(ticket, "resolved", 3, T0, pending_until=T0 + HOUR, auto_close_after=HOUR)
    values = enter(ticket, "pending", 2, T0 + HOUR, pending_until=T0 + 5 * HOUR)
    assert values["pending_until"] == T0 + 5 * HOUR
    assert values["open_since"] is None and values["worked_seconds"] == 3600


def test_the_resolution_clock_counts_open_spans_only() -> None:
    """Open 1 h, pending 1 day, open 1 h, resolved for a week, reopened, open 30 min."""
    ticket = _ticket("open", open_since=T0)
    ticket.update(enter(ticket, "pending", 2, T0 + HOUR, pending_until=T0 + 25 * HOUR))
    ticket.update(enter(ticket, "open", 1, T0 + 25 * HOUR))
    assert resolution_seconds(ticket, T0 + 26 * HOUR) == 2 * 3600
    ticket.update(enter(ticket, "resolved", 3, T0 + 26 * HOUR, auto_close_after=7 * 24 * HOUR))
    assert ticket["auto_close_at"] == T0 + 26 * HOUR + 7 * 24 * HOUR
    later = T0 + 26 * HOUR + 7 * 24 * HOUR - HOUR
    assert resolution_seconds(ticket, later) == 2 * 3600  # a resolved ticket's clock stands
    ticket.update(enter(ticket, "open", 1, later))
    assert ticket["reopen_count"] == 1 and ticket["auto_close_at"] is None
    ticket.update(enter(ticket, "resolved", 3, later + HOUR / 2, auto_close_after=HOUR))
    assert resolution_seconds(ticket, later + 100 * HOUR) == 2.5 * 3600


async def _status_id(desk: Desk, name: str, category: str) -> int:
    async with desk.sessions() as session, session.begin():
        row = await crud.create(session, statuses, {"name": name, "category": category})
    return int(row["id"])


async def test_agent_status_changes_use_custom_statuses_and_are_audited(desk: Desk) -> None:
    agent = await desk.agent()
    in_progress = await _status_id(desk, unique("In progress "), "open")
    waiting = await _status_id(desk, unique("Waiting for reply "), "pending")
    (ticket,) = await desk.tickets()
    assert ticket["status"] == "open" and ticket["first_response_at"] is None
    assert ticket["open_since"] is not None and ticket["priority_id"] is not None

    moved = await desk.change([ticket["id"]], Actor.agent(agent), status_id=in_progress)
    after = await desk.ticket(ticket["id"])
    assert moved.updated == [ticket["id"]]
    assert (after["status"], after["status_id"]) == ("open", in_progress)
    assert after["first_response_at"] is not None  # a status change by an agent is a reaction

    until = datetime.now(UTC) + timedelta(days=2)
    refused = await desk.change([ticket["id"]], Actor.agent(agent), status_id=waiting)
    assert "needs an until-time" in refused.failed[ticket["id"]]
    await desk.change([ticket["id"]], Actor.agent(agent), status_id=waiting, pending_until=until)
    after = await desk.ticket(ticket["id"])
    assert (after["status"], after["pending_until"], after["open_since"]) == (
        "pending",
        until,
        None,
    )

    rows = [
        (r["actor"], r["agent_id"], r["field"], r["new_value"])
        for r in await desk.audit(ticket["id"])
    ]
    assert rows == [
        ("agent", agent, "status_id", str(in_progress)),
        ("agent", agent, "status", "pending"),
        ("agent", agent, "status_id", str(waiting)),
        ("agent", agent, "pending_until", until.isoformat()),
    ]


async def test_illegal_moves_change_nothing(desk: Desk) -> None:
    agent = Actor.agent(await desk.agent())
    (ticket,) = await desk.tickets()
    await desk.change([ticket["id"]], agent, status="resolved")
    await desk.change([ticket["id"]], agent, status="closed")
    for target in ("open", "pending", "resolved"):
        outcome = (
            await desk.change(
                [ticket["id"]], agent, status=target, pending_until=datetime.now(UTC) + HOUR
            )
            if target == "pending"
            else await desk.change([ticket["id"]], agent, status=target)
        )
        assert outcome.failed == {ticket["id"]: "the ticket is closed: closed is final"}
    assert (await desk.ticket(ticket["id"]))["status"] == "closed"
    assert [r["new_value"] for r in await desk.audit(ticket["id"]) if r["field"] == "status"] == [
        "resolved",
        "closed",
    ]


async def test_resolution_time_of_a_ticket_reopened_after_a_week(desk: Desk) -> None:
    """The issue's example: resolved within an hour, the customer writes again a week
    later, the agent answers and resolves in half an hour: 1.5 hours, not a week."""
    agent = Actor.agent(await desk.agent())
    start = datetime.now(UTC)
    address = f"{unique('c')}@example.com"
    await desk.ingest([webform(address)], now=start)
    ticket = await desk.ticket_of(address)
    assert ticket is not None
    await desk.change([ticket["id"]], agent, now=start + HOUR, status="resolved")
    reopened = start + HOUR + timedelta(days=7)
    result = await desk.ingest(
        [webform(address, "It jams again")], now=reopened, window=timedelta(days=8)
    )
    assert result.reopened == 1
    await desk.change([ticket["id"]], agent, now=reopened + HOUR / 2, status="resolved")
    after = await desk.ticket(ticket["id"])
    assert after["worked_seconds"] == pytest.approx(1.5 * 3600)
    assert resolution_seconds(after, reopened + 30 * HOUR) == pytest.approx(1.5 * 3600)
    assert after["reopen_count"] == 1
    assert after["resolved_at"] == reopened + HOUR / 2
    customer = [r for r in await desk.audit(ticket["id"]) if r["actor"] == "customer"]
    assert [r["field"] for r in customer] == ["status", "status_id"]
    assert (customer[0]["old_value"], customer[0]["new_value"]) == ("resolved", "open")
    assert customer[0]["created_at"] == reopened and customer[0]["agent_id"] is None


async def test_reopenings_are_counted_in_the_batch_update(desk: Desk) -> None:
    agent = Actor.agent(await desk.agent())
    tickets = await desk.tickets(3)
    ids = [t["id"] for t in tickets]
    for round_ in (1, 2):
        resolved = await desk.change(ids, agent, status="resolved")
        assert sorted(resolved.updated) == sorted(ids)
        senders = []
        for t in tickets:
            async with desk.sessions() as session:
                contact = await repo.contact_by_id(session, t["contact_id"])
            assert contact is not None
            senders.append(webform(contact["email"], f"again {round_}"))
        result = await desk.ingest(senders)
        assert result.reopened == 3
        assert [(await desk.ticket(i))["reopen_count"] for i in ids] == [round_] * 3


async def test_internal_tickets_announce_every_change_as_internal(desk: Desk) -> None:
    agent = Actor.agent(await desk.agent())
    async with desk.sessions() as session:
        internal = await session.scalar(
            select(ticket_types.c.id).where(ticket_types.c.name == "internal")
        )
    (ticket,) = await desk.tickets()
    async with desk.sessions() as session, session.begin():
        outcome = await apply_changes(
            session,
            [ticket["id"]],
            ChangeRequest(type_id=internal, status="resolved"),
            agent,
            now=datetime.now(UTC),
            auto_close_after=timedelta(days=7),
        )
        # read before the commit: after it, a running relay publishes and deletes them
        rows = await session.execute(
            select(repo.outbox.c.payload).where(repo.outbox.c.id.in_(outcome.outbox_ids))
        )
        events = [TicketEvent.model_validate_json(p) for (p,) in rows]
    assert [(e.kind, e.internal) for e in events] == [
        (TicketEventKind.STATUS_CHANGED, True),
        (TicketEventKind.FIELD_CHANGED, True),
    ]
    assert (events[0].previous_status, events[0].status) == ("open", "resolved")
