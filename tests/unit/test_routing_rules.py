"""Routing and custom attributes as plain functions: rule matching, the default chain,
distribution inside groups, attribute validation and visibility."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest
from ticket_core.custom_attributes import (
    AttributeDef,
    AttributeKind,
    InvalidAttribute,
    apply_patch,
    check_definition,
    check_new,
    visible,
    visible_to_contact,
)
from ticket_core.routing import (
    Conditions,
    Defaults,
    Distribution,
    GroupPicker,
    InvalidRule,
    Rule,
    TicketFacts,
    TimeWindow,
    first_match,
    matches,
    route,
)

# Wednesday 2026-11-25 12:30 UTC = 15:30 in Moscow
WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 30, tzinfo=UTC)


def facts(**changes: Any) -> TicketFacts:
    values: dict[str, Any] = {
        "type_id": 1,
        "priority_id": 2,
        "channel": "telegram",
        "channel_account": "bot1",
        "company_category_id": 3,
        "created_at": WEDNESDAY_NOON,
        "attributes": {"region": "north"},
    }
    return TicketFacts(**(values | changes))


def rule(rule_id: int, position: int | None = None, enabled: bool = True, **kw: Any) -> Rule:
    conditions = Conditions.from_json(kw.pop("conditions", {}))
    return Rule(
        id=rule_id,
        name=f"rule {rule_id}",
        position=position if position is not None else rule_id,
        enabled=enabled,
        conditions=conditions,
        **kw,
    )


@pytest.mark.parametrize(
    ("condition", "hit", "miss"),
    [
        ({"type_ids": [1, 5]}, {}, {"type_id": 2}),
        ({"type_ids": [1]}, {}, {"type_id": None}),
        ({"priority_ids": [2]}, {}, {"priority_id": 9}),
        ({"channels": ["telegram", "vk"]}, {}, {"channel": "email"}),
        ({"channel_accounts": ["bot1"]}, {}, {"channel_account": "bot2"}),
        ({"company_category_ids": [3]}, {}, {"company_category_id": None}),
        ({"attributes": {"region": ["north", "east"]}}, {}, {"attributes": {"region": "south"}}),
        ({"attributes": {"region": ["north"]}}, {}, {"attributes": {}}),
    ],
)
def test_each_condition_holds_only_for_its_values(
    condition: dict[str, Any], hit: dict[str, Any], miss: dict[str, Any]
) -> None:
    conditions = Conditions.from_json(condition)
    assert matches(conditions, facts(**hit))
    assert not matches(conditions, facts(**miss))


def test_conditions_combine_with_and_and_no_condition_matches_everything() -> None:
    both = Conditions.from_json({"channels": ["telegram"], "priority_ids": [7]})
    assert not matches(both, facts())
    assert matches(both, facts(priority_id=7))
    assert matches(Conditions(), facts(type_id=None, company_category_id=None))


def test_time_window_is_local_weekdays_and_hours_in_its_timezone() -> None:
    moscow_office = TimeWindow(frozenset({1, 2, 3, 4, 5}), time(9), time(18), "Europe/Moscow")
    assert moscow_office.contains(WEDNESDAY_NOON)  # 15:30 in Moscow
    assert not moscow_office.contains(datetime(2026, 11, 25, 15, 30, tzinfo=UTC))  # 18:30
    assert not moscow_office.contains(datetime(2026, 11, 28, 9, 0, tzinfo=UTC))  # Saturday
    # Sunday 23:30 UTC is already Monday 02:30 in Moscow
    night = TimeWindow(frozenset({1}), time(22), time(6), "Europe/Moscow")
    assert night.contains(datetime(2026, 11, 29, 23, 30, tzinfo=UTC))
    assert not night.contains(datetime(2026, 11, 30, 6, 0, tzinfo=UTC))  # Monday 09:00
    via_json = Conditions.from_json({"time_window": moscow_office.to_json()})
    assert via_json.time_window == moscow_office
    assert not matches(via_json, facts(created_at=datetime(2026, 11, 25, 20, tzinfo=UTC)))


@pytest.mark.parametrize(
    ("window", "reason"),
    [
        ({"weekdays": [1], "start": "09:00", "end": "18:00", "timezone": "Mars/Base"}, "timezone"),
        ({"weekdays": [0], "start": "09:00", "end": "18:00", "timezone": "UTC"}, "weekdays"),
        ({"weekdays": [1], "start": "09:00", "end": "09:00", "timezone": "UTC"}, "differ"),
    ],
)
def test_a_bad_time_window_is_refused_with_its_reason(window: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidRule, match=reason):
        Conditions.from_json({"time_window": window})


def test_first_enabled_match_in_table_order_wins() -> None:
    rules = [
        rule(1, position=30),  # matches everything, but last
        rule(2, position=10, enabled=False),  # would match, disabled
        rule(3, position=20, conditions={"channels": ["telegram"]}),
        rule(4, position=5, conditions={"channels": ["email"]}),  # first, does not match
    ]
    assert first_match(rules, facts()) == rules[2]
    assert first_match(rules, facts(channel="vk")) == rules[0]
    assert first_match([rules[1]], facts()) is None


def test_a_matching_rule_assigns_its_agent_group_and_observers() -> None:
    picker = GroupPicker({})
    found = route(
        [rule(1, agent_id=10, group_id=20, observer_agent_ids=frozenset({11, 99}))],
        facts(),
        Defaults(contact_manager=12, observer_agent_ids=frozenset({13})),
        frozenset({14}),
        active={10, 11, 12, 13, 14},
        picker=picker,
    )
    assert found is not None
    assert (found.reason, found.source, found.agent_id, found.group_id) == (
        "rule 1",
        "rule",
        10,
        20,
    )
    assert found.observer_agent_ids == {11, 13, 14}  # 99 is not active


def test_default_chain_order_and_inactive_managers_are_skipped() -> None:
    full = Defaults(
        service_object_manager=1, contact_manager=2, company_manager=3, account_group=40
    )
    everyone = {1, 2, 3}
    steps = [
        (everyone, "service_object", 1, None),
        ({2, 3}, "contact", 2, None),
        ({3}, "company", 3, None),
        (set(), "channel_account", None, 40),
    ]
    for active, source, agent, group in steps:
        found = route([], facts(), full, frozenset(), active, GroupPicker({}))
        assert found is not None
        assert (found.source, found.agent_id, found.group_id) == (source, agent, group)
    assert route([], facts(), Defaults(), frozenset(), set(), GroupPicker({})) is None
    only_observers = route([], facts(), Defaults(), frozenset({5}), {5}, GroupPicker({}))
    assert only_observers is not None and only_observers.agent_id is None
    assert only_observers.observer_agent_ids == {5}


def test_round_robin_takes_turns_and_wraps_from_the_stored_pointer() -> None:
    picker = GroupPicker({7: [30, 10, 20]}, last={7: 20})
    picks = [picker.pick(7, Distribution.ROUND_ROBIN) for _ in range(4)]
    assert picks == [30, 10, 20, 30]
    assert picker.last[7] == 30 and picker.turned == {7}
    fresh = GroupPicker({7: [10, 20]})
    assert fresh.pick(7, Distribution.ROUND_ROBIN) == 10
    # the pointer names an agent who left the group: the next one after it
    left = GroupPicker({7: [10, 30]}, last={7: 20})
    assert left.pick(7, Distribution.ROUND_ROBIN) == 30
    assert GroupPicker({7: []}).pick(7, Distribution.ROUND_ROBIN) is None


def test_least_loaded_picks_the_lowest_load_and_counts_its_own_picks() -> None:
    picker = GroupPicker({7: [1, 2, 3]}, loads={1: 4, 2: 1, 3: 2})
    picks = [picker.pick(7, Distribution.LEAST_LOADED) for _ in range(4)]
    assert picks == [2, 2, 3, 2]  # 2 (1->2), 2 vs 3 tie at 2 -> lowest id, then 3, then 2
    assert picker.loads == {1: 4, 2: 4, 3: 3}


def test_distribution_rule_picks_inside_its_group() -> None:
    picker = GroupPicker({7: [1, 2]})
    rules = [rule(1, group_id=7, distribution=Distribution.ROUND_ROBIN)]
    agents = [
        route(rules, facts(), Defaults(), frozenset(), {1, 2}, picker) for _ in range(3)
    ]
    assert [(a.agent_id, a.group_id) for a in agents if a] == [(1, 7), (2, 7), (1, 7)]


DEFS = {
    "note": AttributeDef("note", "Note", AttributeKind.STRING),
    "amount": AttributeDef("amount", "Amount", AttributeKind.NUMBER),
    "due": AttributeDef("due", "Due", AttributeKind.DATE, required_on_create=True),
    "region": AttributeDef(
        "region",
        "Region",
        AttributeKind.LIST,
        options=("north", "south"),
        visible_to_roles=frozenset({"administrator", "lead_specialist"}),
        visible_to_contact=True,
    ),
}


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        ({"nope": "x"}, "'nope' is not defined"),
        ({"note": 5}, "'note' takes a string"),
        ({"amount": "5"}, "'amount' takes a number"),
        ({"amount": True}, "'amount' takes a number"),
        ({"amount": float("nan")}, "finite"),
        ({"due": "2026-13-01"}, "'due' takes a date"),
        ({"due": "2026-11-25T10:00"}, "'due' takes a date"),
        ({"region": "west"}, "'west' is not one of north, south"),
        ({"due": None}, "'due' is required"),
    ],
)
def test_attribute_values_are_refused_with_the_reason(patch: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidAttribute, match=reason):
        apply_patch(DEFS, {"due": "2026-11-30"}, patch)


def test_attribute_patch_sets_replaces_and_removes() -> None:
    current = {"note": "old", "due": "2026-11-30"}
    after = apply_patch(DEFS, current, {"note": None, "amount": 2.5, "region": "south"})
    assert after == {"due": "2026-11-30", "amount": 2.5, "region": "south"}
    assert current == {"note": "old", "due": "2026-11-30"}  # not mutated
    with pytest.raises(InvalidAttribute, match="not visible to the role specialist"):
        apply_patch(DEFS, {}, {"region": "north"}, role="specialist")
    assert apply_patch(DEFS, {}, {"region": "north"}, role="lead_specialist") == {
        "region": "north"
    }


def test_required_attributes_on_create() -> None:
    with pytest.raises(InvalidAttribute, match="required attribute\\(s\\) missing: due"):
        check_new(DEFS, {"note": "x"})
    assert check_new(DEFS, {"due": "2026-12-01"}) == {"due": "2026-12-01"}


def test_visibility_per_role_and_contact() -> None:
    values = {"note": "n", "region": "north", "ghost": 1}
    assert visible(DEFS, values, "administrator") == {"note": "n", "region": "north"}
    assert visible(DEFS, values, "specialist") == {"note": "n"}
    assert visible(DEFS, values, None) == {"note": "n"}
    assert visible_to_contact(DEFS, values) == {"region": "north"}


@pytest.mark.parametrize(
    ("kind", "options", "key", "reason"),
    [
        (AttributeKind.LIST, [], "k", "needs options"),
        (AttributeKind.LIST, ["a", "a"], "k", "distinct"),
        (AttributeKind.STRING, ["a"], "k", "takes no options"),
        (AttributeKind.STRING, [], "Bad Key", "must start with a letter"),
    ],
)
def test_definitions_are_checked(
    kind: AttributeKind, options: list[str], key: str, reason: str
) -> None:
    with pytest.raises(InvalidAttribute, match=reason):
        check_definition(kind, options, key)
