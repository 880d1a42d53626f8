"""SLA re-planning, pure: which rule applies after a change, the new planned times from
registration on the new calendar (less the Pending spans), manual and met targets kept,
and the timer markers following the new times. Worked examples and Hypothesis
properties."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from ticket_core.sla_replan import StatusMove, facts_changed, pending_spans, replan
from ticket_core.sla_tickets import (
    SlaConfig,
    calendar_from,
    due_firings,
    facts_of,
    planned,
    rule_from,
)

BER = ZoneInfo("Europe/Berlin")
OFFICE = {d: "09:00-18:00" for d in ("monday", "tuesday", "wednesday", "thursday", "friday")}
ALWAYS = {
    d: "00:00-24:00"
    for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
}
HIGH, NORMAL = 7, 3


def ber(d: int, h: int = 0, mi: int = 0) -> datetime:
    """January 2030: the 7th is a Monday."""
    return datetime(2030, 1, d, h, mi, tzinfo=BER).astimezone(UTC)


def rule(rule_id: int, hours: dict[str, str], reaction: int, resolution: int, **kw: Any) -> Any:
    row = {
        "id": rule_id,
        "name": f"rule {rule_id}",
        "enabled": True,
        "ticket_type_ids": [],
        "priority_ids": [],
        "company_category_ids": [],
        "company_ids": [],
        "registered_within": [],
        "reaction_minutes": reaction,
        "resolution_minutes": resolution,
        "warning_minutes": kw.pop("warning", 0),
        **kw,
    }
    return rule_from(row, calendar_from("Europe/Berlin", hours, []))


# urgent (first): high priority, round the clock; standard: office hours, 30-minute lead
CONFIG = SlaConfig.of(
    [
        rule(1, ALWAYS, 60, 240, priority_ids=[HIGH], warning=15),
        rule(2, OFFICE, 120, 1080, warning=30),
    ]
)
REGISTERED = ber(7, 10)  # Monday 10:00


def ticket(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 1,
        "created_at": REGISTERED,
        "status": "open",
        "priority_id": NORMAL,
        "type_id": None,
        "company_id": None,
        "first_response_at": None,
        "reaction_due_manual": False,
        "resolution_due_manual": False,
    }
    base.update(overrides)
    base.update(planned(CONFIG, facts_of(base, None)))
    return base


def raised(before: dict[str, Any]) -> dict[str, Any]:
    return {**before, "priority_id": HIGH}


def test_a_priority_change_plans_from_registration_on_the_new_rules_calendar() -> None:
    before = ticket()
    assert before["sla_rule_id"] == 2
    assert before["resolution_due_at"] == ber(9, 10)  # 8 h Monday, 9 h Tuesday, 1 h Wednesday
    after = raised(before)
    assert facts_changed(before, after)
    found = replan(CONFIG, after, facts_of(after, None), [], now=ber(7, 10, 30))
    assert found is not None and found.rule_name == "rule 1"
    assert found.values["sla_rule_id"] == 1
    assert found.values["reaction_due_at"] == ber(7, 11)  # 24/7: registration + 1 h
    assert found.values["resolution_due_at"] == ber(7, 14)
    assert found.values["reaction_warn_at"] == ber(7, 10, 45)  # the new rule's 15-min lead
    assert found.values["sla_warning_seconds"] == 15 * 60
    assert [(c.field, c.old, c.new) for c in found.changes] == [
        ("sla_rule_id", 2, 1),
        ("reaction_due_at", ber(7, 12), ber(7, 11)),
        ("resolution_due_at", ber(9, 10), ber(7, 14)),
    ]
    assert found.reason == "SLA re-planned: rule rule 1"


def test_the_same_rule_still_matching_changes_nothing() -> None:
    before = ticket(priority_id=HIGH)
    after = {**before, "type_id": 5}
    assert replan(CONFIG, after, facts_of(after, None), [], now=ber(7, 11)) is None


def test_manual_times_and_a_met_reaction_are_kept() -> None:
    manual = datetime(2030, 2, 1, 12, tzinfo=UTC)
    before = {
        **ticket(),
        "resolution_due_at": manual,
        "resolution_due_manual": True,
        "first_response_at": ber(7, 10, 5),
    }
    after = raised(before)
    found = replan(CONFIG, after, facts_of(after, None), [], now=ber(7, 10, 30))
    assert found is not None
    assert "resolution_due_at" not in found.values and "reaction_due_at" not in found.values
    assert found.values["sla_rule_id"] == 1
    assert found.changes == [found.changes[0]] and found.changes[0].field == "sla_rule_id"


def test_pending_spans_move_the_new_resolution_like_a_resume() -> None:
    before = ticket()
    moves = [
        StatusMove(ber(7, 11), "open", "pending"),
        StatusMove(ber(7, 12, 30), "pending", "open"),
        StatusMove(ber(7, 13), "open", "pending"),
    ]
    after = {**raised(before), "status": "pending", "sla_paused_at": None}
    found = replan(CONFIG, after, facts_of(after, None), moves, now=ber(7, 14))
    assert found is not None
    # 24/7 rule: 4 h from 10:00, the closed 1.5 h span re-added -> 15:30; the clock is
    # paused since 13:00 (the open span), to be moved on resume.
    assert found.values["resolution_due_at"] == ber(7, 15, 30)
    assert found.values["sla_paused_at"] == ber(7, 13)
    assert found.values["reaction_due_at"] == ber(7, 11)  # reaction never pauses


def test_no_rule_any_more_clears_the_targets_that_are_not_kept() -> None:
    config = SlaConfig.of([rule(1, ALWAYS, 60, 240, priority_ids=[HIGH])])
    before = {**ticket(), **planned(config, facts_of({**ticket(), "priority_id": HIGH}, None))}
    before["priority_id"] = HIGH
    after = {**before, "priority_id": NORMAL}
    found = replan(config, after, facts_of(after, None), [], now=ber(7, 10, 30))
    assert found is not None and found.rule_name is None
    assert found.values["sla_rule_id"] is None
    assert found.values["reaction_due_at"] is None and found.values["resolution_due_at"] is None


def test_markers_follow_the_new_times() -> None:
    now = ber(7, 13)
    # Under the standard rule the reaction (12:00) already breached; re-planned later it
    # may warn and breach again; re-planned earlier and past, it breaches once.
    before = {
        **ticket(),
        "reaction_warned_at": ber(7, 11, 30),
        "reaction_breached_at": ber(7, 12),
    }
    later = SlaConfig.of([rule(3, ALWAYS, 240, 480, priority_ids=[HIGH], warning=30)])
    after = raised(before)
    found = replan(later, after, facts_of(after, None), [], now=now)
    assert found is not None
    assert found.values["reaction_due_at"] == ber(7, 14)
    assert found.values["reaction_breached_at"] is None
    assert found.values["reaction_warned_at"] is None  # warns again at 13:30
    state = {**after, **found.values}
    assert due_firings(state, now) == ([], {})
    firings, markers = due_firings(state, ber(7, 13, 31))
    assert [(f.target, f.breach) for f in firings] == [("reaction", False)]

    fresh = ticket()  # nothing fired yet; re-planned to 11:00, already past at 13:00
    after = raised(fresh)
    found = replan(CONFIG, after, facts_of(after, None), [], now=now)
    assert found is not None
    state = {**after, **found.values}
    firings, markers = due_firings(state, now)
    assert [(f.target, f.breach) for f in firings] == [("reaction", True)]
    state.update(markers)
    assert due_firings(state, ber(7, 13, 1))[0] == []  # once

    # already breached and re-planned to a time also past: not announced twice
    after = raised({**fresh, "reaction_breached_at": ber(7, 12), "reaction_warned_at": now})
    found = replan(CONFIG, after, facts_of(after, None), [], now=now)
    assert found is not None and found.values["reaction_breached_at"] == ber(7, 12)
    assert due_firings({**after, **found.values}, now)[0] == []


statuses = st.sampled_from(["open", "pending", "resolved"])


@given(st.lists(st.tuples(st.integers(0, 10_000), statuses), max_size=12))
def test_pending_spans_cover_exactly_the_time_spent_pending(
    steps: list[tuple[int, str]],
) -> None:
    start = ber(7, 10)
    at, status, moves = start, "open", []
    pending_minutes = 0
    for gap, new in steps:
        if status == "pending":
            pending_minutes += gap
        at += timedelta(minutes=gap)
        moves.append(StatusMove(at, status, new))
        status = new
    spans, current = pending_spans(moves, start)
    closed = sum((end - begin for begin, end in spans), timedelta())
    assert all(begin <= end for begin, end in spans)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert (current is not None) == (status == "pending")
    still = at - current if current is not None else timedelta()
    assert closed + still == timedelta(minutes=pending_minutes)


@given(
    st.lists(st.tuples(st.integers(1, 3000), st.integers(1, 3000)), max_size=5),
    st.integers(0, 6000),
)
def test_replanned_resolution_never_earlier_than_a_plain_plan_and_markers_past(
    spans: list[tuple[int, int]], minutes_later: int
) -> None:
    at, moves = REGISTERED, []
    for open_minutes, pending_minutes in spans:
        at += timedelta(minutes=open_minutes)
        moves.append(StatusMove(at, "open", "pending"))
        at += timedelta(minutes=pending_minutes)
        moves.append(StatusMove(at, "pending", "open"))
    now = at + timedelta(minutes=minutes_later)
    before = {
        **ticket(),
        "reaction_warned_at": REGISTERED,
        "reaction_breached_at": REGISTERED,
        "resolution_warned_at": REGISTERED,
        "resolution_breached_at": REGISTERED,
    }
    after = raised(before)
    found = replan(CONFIG, after, facts_of(after, None), moves, now=now)
    assert found is not None
    assert found.values["resolution_due_at"] >= ber(7, 14)
    for target in ("reaction", "resolution"):
        due = found.values[f"{target}_due_at"]
        if found.values[f"{target}_breached_at"] is not None:
            assert due <= now
        warn = found.values[f"{target}_warn_at"]
        if found.values[f"{target}_warned_at"] is not None:
            assert due <= now or warn <= now
