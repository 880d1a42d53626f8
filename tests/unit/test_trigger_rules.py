"""The pure parts of triggers: the condition language (validation and evaluation), action
validation, which trigger event a ticket event is, and the loop rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from helpdesk_common.records import TicketEvent, TicketEventKind
from ticket_core.trigger_actions import ActionError, Assign, dump_actions, parse_actions
from ticket_core.trigger_conditions import ConditionError, matches, parse, scopes
from ticket_core.trigger_engine import MAX_DEPTH, may_react, trigger_event_of

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CONTEXT: dict[str, Any] = {
    "ticket": {
        "status": "open",
        "status_id": 7,
        "subject": "Printer JAMS again",
        "tags": ["vip", "printer"],
        "responsible_agent_id": None,
        "reopen_count": 2,
        "created_at": T0,
    },
    "contact": {"email": "ann@example.com"},
    "company": None,
    "message": {"kind": "customer", "auto_submitted": False},
    "event": {"kind": "status.changed", "previous_status": "pending", "details": {"x": "1"}},
}


def holds(raw: dict[str, Any]) -> bool:
    return matches(parse(raw), CONTEXT)


def leaf(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (leaf("ticket.status", "eq", "open"), True),
        (leaf("ticket.status", "eq", "pending"), False),
        (leaf("ticket.status_id", "ne", 8), True),
        (leaf("ticket.status_id", "in", [1, 7]), True),
        (leaf("ticket.status_id", "not_in", [1, 7]), False),
        (leaf("ticket.subject", "contains", "jams"), True),  # case-insensitive
        (leaf("ticket.tags", "contains", "vip"), True),
        (leaf("ticket.tags", "contains", "vi"), False),  # list membership, not substring
        (leaf("ticket.tags", "in", ["x", "vip"]), False),  # a list is not one of the values
        (leaf("ticket.reopen_count", "gt", 1), True),
        (leaf("ticket.reopen_count", "lt", 2), False),
        (leaf("ticket.created_at", "lt", "2026-11-26T13:00:00+00:00"), True),
        (leaf("ticket.created_at", "gt", "2026-11-26T12:30:00+01:00"), True),
        (leaf("ticket.responsible_agent_id", "is_set", False), True),
        (leaf("ticket.tags", "is_set", True), True),
        (leaf("company.name", "eq", "Acme"), False),  # no company: null
        (leaf("company.name", "ne", "Acme"), True),
        (leaf("company.name", "is_set", False), True),
        (leaf("contact.email", "eq", "ann@example.com"), True),
        (leaf("message.auto_submitted", "eq", False), True),
        (leaf("event.previous_status", "eq", "pending"), True),
        (leaf("event.details.x", "eq", "1"), True),
        (leaf("event.details.missing", "is_set", True), False),
        ({"all": []}, True),
        ({"any": []}, False),
        (
            {
                "all": [
                    leaf("ticket.status", "eq", "open"),
                    {
                        "any": [
                            leaf("ticket.status_id", "eq", 1),
                            leaf("ticket.tags", "contains", "vip"),
                        ]
                    },
                ]
            },
            True,
        ),
        (
            {"all": [leaf("ticket.status", "eq", "open"), leaf("ticket.status_id", "eq", 1)]},
            False,
        ),
    ],
)
def test_conditions_evaluate(condition: dict[str, Any], expected: bool) -> None:
    assert holds(condition) is expected


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        (leaf("ticket.nope", "eq", 1), "unknown field 'ticket.nope'"),
        (leaf("robot.status", "eq", 1), "unknown field 'robot.status'"),
        (leaf("ticket.status", "like", "x"), "unknown operator 'like'"),
        ({"field": "ticket.status", "op": "eq"}, "'value' is missing"),
        (leaf("ticket.status_id", "eq", "7"), "expected a value of type int"),
        (leaf("ticket.status_id", "in", []), "list of 1 to 500"),
        (leaf("ticket.status_id", "contains", "7"), "contains takes a text"),
        (leaf("ticket.subject", "gt", "a"), "compares numbers and times"),
        (leaf("ticket.created_at", "gt", "yesterday"), "not an ISO-8601 time"),
        (leaf("ticket.created_at", "gt", "2026-11-26T10:00:00"), "needs a timezone"),
        (leaf("ticket.status", "is_set", "yes"), "is_set takes true or false"),
        (leaf("ticket.tags", "eq", "vip"), "use contains"),
        (leaf("message.attachments", "eq", "x"), "only be tested with is_set"),
        ({"all": [leaf("ticket.status", "eq", "open")], "any": []}, "exactly one key"),
        ({"all": [{"any": [leaf("ticket.x", "eq", 1)]}]}, "conditions.all[0].any[0]: unknown"),
        ([], "expected an object"),
    ],
)
def test_bad_conditions_are_refused_with_the_reason(condition: Any, reason: str) -> None:
    with pytest.raises(ConditionError, match=None) as caught:
        parse(condition)
    assert reason in str(caught.value)


def test_actions_are_validated_and_assign_keeps_what_it_does_not_name() -> None:
    actions = parse_actions(
        [
            {"type": "assign", "group_id": 4},
            {"type": "notify", "template": "t", "recipients": ["contact", "agent:3"]},
        ]
    )
    assert isinstance(actions[0], Assign) and actions[0].model_fields_set == {"type", "group_id"}
    assert dump_actions(actions)[0] == {"type": "assign", "group_id": 4}
    for raw, reason in [
        ([{"type": "explode"}], "explode"),
        ([{"type": "set_status"}], "status_id"),
        ([{"type": "add_tag", "tag": "a,b"}], "tag"),
        ([{"type": "notify", "template": "t", "recipients": ["boss"]}], "unknown recipient"),
        ([{"type": "reply", "text": "hi", "extra": 1}], "extra"),
        ([], "at least 1"),
    ]:
        with pytest.raises(ActionError) as caught:
            parse_actions(raw)
        assert reason in str(caught.value)


def _event(kind: TicketEventKind, **kw: Any) -> TicketEvent:
    return TicketEvent(kind=kind, ticket_id=1, ticket_number=1001, **kw)


def test_ticket_events_map_onto_trigger_events() -> None:
    added = _event(TicketEventKind.MESSAGE_ADDED, message_id=5)
    customer = {"kind": "customer", "auto_submitted": False, "is_bounce": False}
    assert trigger_event_of(added, customer) == "customer.message"
    assert trigger_event_of(added, {**customer, "auto_submitted": True}) is None
    assert trigger_event_of(added, {**customer, "is_bounce": True}) is None
    assert trigger_event_of(added, {"kind": "public_reply"}) == "agent.reply"
    assert trigger_event_of(added, {"kind": "internal_note"}) is None
    assert trigger_event_of(_event(TicketEventKind.TICKET_CREATED), None) == "ticket.created"
    assert trigger_event_of(_event(TicketEventKind.RESPONSIBLE_CHANGED), None) == "field.changed"
    assert trigger_event_of(_event(TicketEventKind.SLA_BREACHED), None) == "sla.breached"
    assert trigger_event_of(_event(TicketEventKind.NOTIFY_REQUESTED), None) is None


def test_a_trigger_ignores_its_own_events_and_everything_at_the_depth_bound() -> None:
    mine = _event(TicketEventKind.STATUS_CHANGED, trigger_depth=1, details={"trigger_id": "9"})
    assert not may_react(9, mine)
    assert may_react(10, mine)
    deep = _event(TicketEventKind.STATUS_CHANGED, trigger_depth=MAX_DEPTH)
    assert not may_react(10, deep)
    assert may_react(10, _event(TicketEventKind.STATUS_CHANGED, trigger_depth=MAX_DEPTH - 1))


def test_scopes_name_what_a_condition_reads() -> None:
    ticket_only = parse({"all": [{"field": "ticket.status_id", "op": "eq", "value": 3}]})
    assert scopes(ticket_only) == {"ticket"}
    nested = parse(
        {
            "any": [
                {"field": "ticket.priority_id", "op": "eq", "value": 1},
                {"all": [{"field": "message.text", "op": "contains", "value": "refund"}]},
                {"field": "company.name", "op": "is_set", "value": True},
            ]
        }
    )
    assert scopes(nested) == {"ticket", "message", "company"}
    assert scopes(parse({"all": []})) == set()
