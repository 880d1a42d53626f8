"""Triggers and their action executor in-process on the real PostgreSQL.

Each test works inside one transaction that it rolls back at the end: its triggers,
tickets and firings are never seen by the running ticket-core (whose trigger consumer and
time scan work on committed rows), so the results are deterministic. Events the triggers
cause are read back from the outbox and fed to the engine again, as the consumer would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from helpdesk_common.records import OutboundMessage, TicketEvent, TicketEventKind
from helpdesk_common.topics import OUTBOUND_MESSAGES, TICKET_EVENTS
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from ticket_core import crud
from ticket_core import repository as repo
from ticket_core import workflow_repo as wrepo
from ticket_core.audit import SYSTEM, Actor
from ticket_core.catalog import load_catalog
from ticket_core.ingest import ingest_batch
from ticket_core.models_org import agents, groups
from ticket_core.models_triggers import firings, triggers
from ticket_core.models_workflow import audit, statuses
from ticket_core.org_repo import set_members
from ticket_core.replies import ReplyRequest, ReplySettings, add_reply
from ticket_core.trigger_actions import parse_actions
from ticket_core.trigger_engine import MAX_DEPTH, Fired, handle_events
from ticket_core.trigger_executor import ExecutorSettings, Provenance, execute
from ticket_core.trigger_time import TimeTriggerLoop, scan_time_triggers
from ticket_core.workflow import ChangeRequest, apply_changes

from .conftest import WINDOW, Desk, unique, webform

SETTINGS = ExecutorSettings(ReplySettings("helpdesk.test", "support"), timedelta(days=7))
HOUR = timedelta(hours=1)
WAITING = "Waiting for reply"


@asynccontextmanager
async def rolled_back(desk: Desk) -> AsyncIterator[AsyncSession]:
    async with desk.sessions() as session:
        await session.begin()
        try:
            yield session
        finally:
            await session.rollback()


async def new_ticket(
    session: AsyncSession, email: str, now: datetime | None = None, text: str = "Help"
) -> tuple[int, list[TicketEvent]]:
    result = await ingest_batch(
        session, [webform(email, text)], reopen_window=WINDOW, now=now or datetime.now(UTC)
    )
    return result.events[0].ticket_id, result.events


async def customer_writes(
    session: AsyncSession, email: str, now: datetime | None = None, **kw: Any
) -> list[TicketEvent]:
    result = await ingest_batch(
        session, [webform(email, "Thanks", **kw)], reopen_window=WINDOW, now=now
    )
    return result.events


def mine(email: str, *more: dict[str, Any]) -> dict[str, Any]:
    """A condition that holds for this test's tickets only."""
    return {"all": [{"field": "contact.email", "op": "eq", "value": email}, *more]}


async def add_trigger(
    session: AsyncSession, event: str, conditions: dict[str, Any], actions: list[Any], **kw: Any
) -> int:
    row = await crud.create(
        session,
        triggers,
        {
            "name": unique("trigger "),
            "event": event,
            "conditions": conditions,
            "actions": actions,
            "position": 1000,
            **kw,
        },
    )
    return int(row["id"])


async def outbox_records(session: AsyncSession, ids: Sequence[int]) -> list[Any]:
    rows = await session.execute(
        select(repo.outbox.c.topic, repo.outbox.c.payload)
        .where(repo.outbox.c.id.in_(list(ids)))
        .order_by(repo.outbox.c.id)
    )
    records: list[Any] = []
    for topic, payload in rows:
        if topic == TICKET_EVENTS.name:
            records.append(TicketEvent.model_validate_json(payload))
        elif topic == OUTBOUND_MESSAGES.name:
            records.append(OutboundMessage.model_validate_json(payload))
    return records


async def events_of(session: AsyncSession, ids: Sequence[int]) -> list[TicketEvent]:
    return [r for r in await outbox_records(session, ids) if isinstance(r, TicketEvent)]


async def cascade(
    session: AsyncSession, events: list[TicketEvent], rounds: int = 10
) -> tuple[list[Fired], list[TicketEvent]]:
    """Feed events to the engine, then the events its firings caused, until none come."""
    rounds_fired: list[Fired] = []
    for _ in range(rounds):
        fired = await handle_events(session, events, SETTINGS)
        rounds_fired.append(fired)
        caused = await events_of(session, fired.outbox_ids)
        if not caused:
            break
        events = caused
    return rounds_fired, events


async def messages_of(session: AsyncSession, ticket_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(repo.messages).where(repo.messages.c.ticket_id == ticket_id).order_by("id")
    )
    return [dict(r) for r in rows.mappings()]


async def firings_of(session: AsyncSession, trigger_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(select(firings).where(firings.c.trigger_id == trigger_id))
    return [dict(r) for r in rows.mappings()]


async def ticket(session: AsyncSession, ticket_id: int) -> dict[str, Any]:
    found = await repo.ticket_by_id(session, ticket_id)
    assert found is not None
    return found


async def status_id(session: AsyncSession, name: str) -> int:
    found = await session.scalar(select(statuses.c.id).where(statuses.c.name == name))
    assert found is not None
    return int(found)


async def test_every_action_changes_the_ticket_with_audit_and_provenance(desk: Desk) -> None:
    async with rolled_back(desk) as session:
        agent = (await crud.create(session, agents, {"name": unique(), "email": unique()}))["id"]
        group = (await crud.create(session, groups, {"name": unique("G ")}))["id"]
        await set_members(session, group, [agent])
        email = f"{unique('c')}@example.com"
        ticket_id, _ = await new_ticket(session, email)
        catalog = await load_catalog(session)
        pending = catalog.default_status("pending").id
        high = next(i for i, n in catalog.priorities.items() if n == "high")
        incident = next(i for i, n in catalog.types.items() if n == "incident")
        now = datetime.now(UTC)
        actions = parse_actions(
            [
                {"type": "set_status", "status_id": pending, "pending_hours": 2},
                {"type": "set_priority", "priority_id": high},
                {"type": "set_type", "type_id": incident},
                {"type": "assign", "agent_id": agent, "group_id": group},
                {"type": "add_observers", "agent_ids": [agent], "group_ids": [group]},
                {"type": "add_tag", "tag": "vip"},
                {"type": "add_tag", "tag": "temp"},
                {"type": "remove_tag", "tag": "temp"},
                {"type": "add_note", "text": "Looked at by the robot"},
                {"type": "notify", "template": "escalation", "recipients": ["contact", "group"]},
                {"type": "reply", "text": "We are on it."},
            ]
        )
        done = await execute(
            session,
            ticket_id,
            actions,
            actor=SYSTEM,
            reason="trigger T",
            provenance=Provenance(1, {"trigger_id": "99"}),
            settings=SETTINGS,
            now=now,
        )
        after = await ticket(session, ticket_id)
        observers = (await wrepo.observers_of(session, [ticket_id]))[ticket_id]
        notes = await messages_of(session, ticket_id)
        records = await outbox_records(session, done.outbox_ids)
        rows = await session.execute(select(audit).where(audit.c.ticket_id == ticket_id))
        trail = [dict(r) for r in rows.mappings()]
    assert (after["status"], after["status_id"]) == ("pending", pending)
    assert after["pending_until"] == now + 2 * HOUR
    assert (after["priority_id"], after["type_id"]) == (high, incident)
    assert (after["responsible_agent_id"], after["responsible_group_id"]) == (agent, group)
    assert observers == (frozenset({agent}), frozenset({group}))
    assert after["tags"] == ["vip"]
    assert after["first_response_at"] is not None  # the canned reply answered the customer
    kinds = [(m["kind"], m["text"]) for m in notes[1:]]
    assert kinds == [("internal_note", "Looked at by the robot"), ("public_reply", "We are on it.")]
    events = [r for r in records if isinstance(r, TicketEvent)]
    outbound = [r for r in records if isinstance(r, OutboundMessage)]
    assert {e.kind for e in events} >= {
        TicketEventKind.STATUS_CHANGED,
        TicketEventKind.RESPONSIBLE_CHANGED,
        TicketEventKind.FIELD_CHANGED,
        TicketEventKind.MESSAGE_ADDED,
        TicketEventKind.NOTIFY_REQUESTED,
    }
    assert all(e.trigger_depth == 1 and e.details["trigger_id"] == "99" for e in events)
    notify = next(e for e in events if e.kind is TicketEventKind.NOTIFY_REQUESTED)
    assert (notify.details["template"], notify.details["recipients"]) == (
        "escalation",
        "contact,group",
    )
    assert [(o.recipient, o.text, o.automatic) for o in outbound] == [
        (email, "We are on it.", True)
    ]
    assert {r["field"] for r in trail if r["reason"] == "trigger T"} >= {
        "status",
        "priority_id",
        "responsible_agent_id",
        "observer_agents",
        "tags",
    }
    assert {r["actor"] for r in trail if r["reason"] == "trigger T"} == {"system"}


async def test_refused_actions_roll_back_and_the_refusal_is_kept(desk: Desk) -> None:
    async with rolled_back(desk) as session:
        email = f"{unique('c')}@example.com"
        catalog = await load_catalog(session)
        closed = catalog.default_status("closed").id
        trigger = await add_trigger(
            session,
            "ticket.created",
            mine(email),
            [{"type": "add_tag", "tag": "seen"}, {"type": "set_status", "status_id": closed}],
        )
        ticket_id, events = await new_ticket(session, email)
        fired = await handle_events(session, events, SETTINGS)
        again = await handle_events(session, events, SETTINGS)  # redelivered
        after = await ticket(session, ticket_id)
        records = await firings_of(session, trigger)
    assert list(fired.refused) == [(trigger, events[0].event_id)]
    assert not again.refused and not again.firings
    assert (after["status"], after["tags"]) == ("open", [])  # the tag rolled back too
    assert len(records) == 1 and "cannot go from open to closed" in records[0]["error"]


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


async def test_a_time_trigger_fires_once_per_quiet_spell(desk: Desk) -> None:
    async with rolled_back(desk) as session:
        email = f"{unique('c')}@example.com"
        now = datetime.now(UTC)
        trigger = await add_trigger(
            session,
            "time",
            mine(email, {"field": "ticket.status", "op": "in", "value": ["open", "pending"]}),
            [{"type": "add_note", "text": "Still there?"}],
            time_anchor="last_customer_message_at",
            time_after_hours=2,
        )
        ticket_id, _ = await new_ticket(session, email, now=now - 3 * HOUR)

        async def scan(at: datetime) -> int:
            fired = await scan_time_triggers(session, SETTINGS, at, limit=10_000)
            return sum(1 for t, _ in fired.firings if t == trigger)

        first = [await scan(now), await scan(now), await scan(now + 10 * HOUR)]
        await customer_writes(session, email, now=now)  # a new period starts
        second = [await scan(now + HOUR), await scan(now + 2 * HOUR + timedelta(seconds=1))]
        again = await scan(now + 5 * HOUR)
        notes = [m for m in await messages_of(session, ticket_id) if m["kind"] == "internal_note"]
    assert first == [1, 0, 0]
    assert second == [0, 1]
    assert again == 0
    assert [n["text"] for n in notes] == ["Still there?", "Still there?"]


async def test_a_time_trigger_looks_again_once_a_non_matching_ticket_changes(desk: Desk) -> None:
    async with rolled_back(desk) as session:
        email = f"{unique('c')}@example.com"
        now = datetime.now(UTC)
        trigger = await add_trigger(
            session,
            "time",
            mine(email, {"field": "ticket.tags", "op": "contains", "value": "watch"}),
            [{"type": "add_note", "text": "Watched and quiet"}],
            time_anchor="created_at",
            time_after_hours=1,
        )
        ticket_id, _ = await new_ticket(session, email, now=now - 2 * HOUR)

        async def scan() -> int:
            fired = await scan_time_triggers(session, SETTINGS, now, limit=10_000)
            return sum(1 for t, _ in fired.firings if t == trigger)

        before = [await scan(), await scan()]
        await execute(
            session,
            ticket_id,
            parse_actions([{"type": "add_tag", "tag": "watch"}]),
            actor=SYSTEM,
            reason="test",
            provenance=Provenance(),
            settings=SETTINGS,
            now=now,
        )
        after = [await scan(), await scan()]
    assert before == [0, 0]
    assert after == [1, 0]


async def test_replicas_scanning_at_once_fire_a_period_once(desk: Desk, infra: Any) -> None:
    """Committed (the other replicas, the running ticket-core's included, must see the
    trigger): two pools scan three times each, concurrently; one firing, one note."""
    email = f"{unique('c')}@example.com"
    await desk.ingest([webform(email)], now=datetime.now(UTC) - 3 * HOUR)
    found = await desk.ticket_of(email)
    assert found is not None
    async with desk.sessions() as session, session.begin():
        trigger = await add_trigger(
            session,
            "time",
            mine(email),
            [{"type": "add_note", "text": "Anyone there?"}],
            time_anchor="last_customer_message_at",
            time_after_hours=2,
        )
    engines = [create_async_engine(infra.database_url) for _ in range(2)]
    try:
        loops = [
            TimeTriggerLoop(
                async_sessionmaker(e, expire_on_commit=False),
                lambda: None,
                SETTINGS,
                interval=1,
                batch=10_000,
            )
            for e in engines
        ]
        await asyncio.gather(*(loop.round() for loop in loops for _ in range(3)))
        async with desk.sessions() as session:
            notes = [
                m for m in await messages_of(session, found["id"]) if m["kind"] == "internal_note"
            ]
            fired = await firings_of(session, trigger)
    finally:
        async with desk.sessions() as session, session.begin():
            await crud.remove(session, triggers, trigger)
        for engine in engines:
            await engine.dispose()
    assert [n["text"] for n in notes] == ["Anyone there?"]
    assert [(f["ticket_id"], f["error"]) for f in fired] == [(found["id"], None)]


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
