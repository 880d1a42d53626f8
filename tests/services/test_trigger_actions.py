"""The trigger action executor in-process on the real PostgreSQL: every action changes the
ticket with audit and provenance; a refused action rolls the others back and the refusal
is kept. Each test rolls its transaction back (trigger_helpers)."""

from __future__ import annotations

from datetime import UTC, datetime

from helpdesk_common.records import OutboundMessage, TicketEvent, TicketEventKind
from sqlalchemy import select
from ticket_core import crud
from ticket_core import workflow_repo as wrepo
from ticket_core.audit import SYSTEM
from ticket_core.catalog import load_catalog
from ticket_core.models_org import agents, groups
from ticket_core.models_workflow import audit
from ticket_core.org_repo import set_members
from ticket_core.trigger_actions import parse_actions
from ticket_core.trigger_engine import handle_events
from ticket_core.trigger_executor import Provenance, execute

from .conftest import Desk, unique
from .trigger_helpers import (
    HOUR,
    SETTINGS,
    add_trigger,
    firings_of,
    messages_of,
    mine,
    new_ticket,
    outbox_records,
    rolled_back,
    ticket,
)


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
