"""Event triggers in-process on the real PostgreSQL: once per (trigger, event) however often
the event is redelivered, the built-in "Waiting for reply" defaults, the depth bound of a
ping-pong pair, no reaction to a trigger's own event, and no ticket lock when nothing
matches. Each test but the last rolls its transaction back (trigger_helpers)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text, update
from ticket_core import crud
from ticket_core import workflow_repo as wrepo
from ticket_core.audit import Actor
from ticket_core.catalog import load_catalog
from ticket_core.models_org import agents
from ticket_core.models_triggers import triggers
from ticket_core.models_workflow import audit, statuses
from ticket_core.replies import ReplyRequest, add_reply
from ticket_core.trigger_engine import MAX_DEPTH, handle_events
from ticket_core.workflow import ChangeRequest, apply_changes

from .conftest import Desk, unique
from .trigger_helpers import (
    SETTINGS,
    WAITING,
    add_trigger,
    cascade,
    customer_writes,
    events_of,
    firings_of,
    messages_of,
    mine,
    new_ticket,
    rolled_back,
    status_id,
    ticket,
)


async def test_a_redelivered_event_fires_each_trigger_once(desk: Desk) -> None:
    async with rolled_back(desk) as session:
        email = f"{unique('c')}@example.com"
        first = await add_trigger(
            session, "ticket.created", mine(email), [{"type": "add_note", "text": "one"}]
        )
        second = await add_trigger(
            session, "ticket.created", mine(email), [{"type": "add_note", "text": "two"}]
        )
        ticket_id, events = await new_ticket(session, email)
        for _ in range(3):
            await handle_events(session, events, SETTINGS)
        notes = [m["text"] for m in await messages_of(session, ticket_id)][1:]
        counts = [len(await firings_of(session, t)) for t in (first, second)]
    assert notes == ["one", "two"]  # in trigger order, once each
    assert counts == [1, 1]


async def test_the_built_in_defaults_move_to_waiting_for_reply_and_back(desk: Desk) -> None:
    """The agent-reply default is disabled out of the box; enabled (in this transaction
    only), a public reply on an Open ticket sets "Waiting for reply", and the enabled
    default sets Open again when the customer answers, but not on an auto-reply."""
    async with rolled_back(desk) as session:
        rows = await session.execute(
            select(triggers.c.name, triggers.c.enabled, triggers.c.event).where(
                triggers.c.name.like("%Waiting for reply%")
            )
        )
        defaults = {(r.event, r.enabled) for r in rows}
        await session.execute(
            update(triggers).where(triggers.c.event == "agent.reply").values(enabled=True)
        )
        waiting = await status_id(session, WAITING)
        open_id = (await load_catalog(session)).default_status("open").id
        email = f"{unique('c')}@example.com"
        ticket_id, events = await new_ticket(session, email)
        await cascade(session, events)
        _, outbox_ids = await add_reply(
            session, ticket_id, ReplyRequest(text="Which printer?"), SETTINGS.replies
        )
        await cascade(session, await events_of(session, outbox_ids))
        after_reply = await ticket(session, ticket_id)
        await cascade(session, await customer_writes(session, email, auto_submitted=True))
        after_auto_reply = await ticket(session, ticket_id)
        await cascade(session, await customer_writes(session, email))
        after_answer = await ticket(session, ticket_id)
        trail = await session.execute(
            select(audit.c.reason, audit.c.new_value).where(
                audit.c.ticket_id == ticket_id, audit.c.field == "status_id"
            )
        )
        reasons = [(r.reason, r.new_value) for r in trail]
    assert defaults == {("customer.message", True), ("agent.reply", False)}
    assert (after_reply["status"], after_reply["status_id"]) == ("open", waiting)
    assert after_auto_reply["status_id"] == waiting
    assert after_answer["status_id"] == open_id
    assert [r for r, _ in reasons] == [
        "trigger Agent public reply on Open -> 'Waiting for reply'",
        "trigger Customer reply on 'Waiting for reply' -> Open",
    ]


async def test_a_ping_pong_pair_stops_at_the_depth_bound(desk: Desk) -> None:
    async with rolled_back(desk) as session:
        ping = await crud.create(session, statuses, {"name": unique("Ping "), "category": "open"})
        pong = await crud.create(session, statuses, {"name": unique("Pong "), "category": "open"})
        email = f"{unique('c')}@example.com"

        def when(status: dict[str, Any]) -> dict[str, Any]:
            return mine(email, {"field": "ticket.status_id", "op": "eq", "value": status["id"]})

        to_pong = await add_trigger(
            session, "status.changed", when(ping), [{"type": "set_status", "status_id": pong["id"]}]
        )
        to_ping = await add_trigger(
            session, "status.changed", when(pong), [{"type": "set_status", "status_id": ping["id"]}]
        )
        ticket_id, _ = await new_ticket(session, email)
        agent = (await crud.create(session, agents, {"name": unique(), "email": unique()}))["id"]
        outcome = await apply_changes(
            session,
            [ticket_id],
            ChangeRequest(status_id=ping["id"]),
            Actor.agent(agent),
            now=datetime.now(UTC),
            auto_close_after=SETTINGS.auto_close_after,
        )
        rounds, last = await cascade(session, await events_of(session, outcome.outbox_ids))
        fired = [f for r in rounds for f in r.firings]
        final = await ticket(session, ticket_id)
    assert [t for t, _ in fired] == [to_pong, to_ping, to_pong][:MAX_DEPTH]
    assert len(fired) == MAX_DEPTH == 3
    assert {e.trigger_depth for e in last} == {MAX_DEPTH}  # nobody reacted to these
    assert final["status_id"] == pong["id"]


async def test_a_trigger_never_reacts_to_its_own_event(desk: Desk) -> None:
    async with rolled_back(desk) as session:
        email = f"{unique('c')}@example.com"
        catalog = await load_catalog(session)
        low, critical = (
            next(i for i, n in catalog.priorities.items() if n == name)
            for name in ("low", "critical")
        )
        trigger = await add_trigger(
            session,
            "field.changed",
            mine(email),
            [{"type": "set_priority", "priority_id": critical}, {"type": "add_note", "text": "!"}],
        )
        ticket_id, _ = await new_ticket(session, email)
        agent = (await crud.create(session, agents, {"name": unique(), "email": unique()}))["id"]
        outcome = await apply_changes(
            session,
            [ticket_id],
            ChangeRequest(priority_id=low),
            Actor.agent(agent),
            now=datetime.now(UTC),
            auto_close_after=SETTINGS.auto_close_after,
        )
        rounds, _ = await cascade(session, await events_of(session, outcome.outbox_ids))
        notes = [m for m in await messages_of(session, ticket_id) if m["kind"] == "internal_note"]
        final = await ticket(session, ticket_id)
    assert [t for r in rounds for t, _ in r.firings] == [trigger]
    assert len(notes) == 1 and final["priority_id"] == critical


async def test_an_event_no_trigger_matches_takes_no_lock_on_its_ticket(desk: Desk) -> None:
    """The built-in customer-message trigger does not match an Open ticket: its event is
    evaluated without locking the ticket, so a writer holding the ticket's row lock (the
    next inbound batch, an agent's change) does not hold the trigger consumer up."""
    email = f"{unique('c')}@example.com"
    async with desk.sessions() as session, session.begin():
        ticket_id, _ = await new_ticket(session, email)
    async with desk.sessions() as session, session.begin():
        events = await customer_writes(session, email)
    async with desk.sessions() as writer, writer.begin():
        await wrepo.lock_tickets(writer, [ticket_id])  # held until this block ends
        async with desk.sessions() as session, session.begin():
            await session.execute(text("SET LOCAL lock_timeout = '3s'"))
            fired = await handle_events(session, events, SETTINGS)
    assert [e.ticket_id for e in events] == [ticket_id]
    assert fired.firings == [] and fired.outbox_ids == []
