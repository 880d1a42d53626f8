"""SLA rules, due times, pauses, status and reaction."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ticket_core.sla import (
    ActivityKind,
    ActorKind,
    Policy,
    ServiceCalendar,
    SlaRule,
    TicketActivity,
    TicketFacts,
    TimeWindow,
    first_reaction_at,
    match_policy,
    match_rule,
    plan,
    remaining_working_time,
    resume,
    status_at,
)

MSK = ZoneInfo("Europe/Moscow")
H = timedelta(hours=1)
M = timedelta(minutes=1)
OFFICE = ServiceCalendar.create("Europe/Moscow", {i: "09:00-18:00" for i in range(5)})
ALWAYS = ServiceCalendar.always_open("Europe/Moscow")
STANDARD = Policy("standard", OFFICE, reaction=2 * H, resolution=8 * H)
VIP = Policy("vip", ALWAYS, reaction=30 * M, resolution=4 * H)
NIGHT = Policy("night", ALWAYS, reaction=H, resolution=24 * H)


def msk(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=MSK).astimezone(UTC)


def facts(at: datetime, **kw: object) -> TicketFacts:
    return TicketFacts(at, **kw)  # type: ignore[arg-type]


MONDAY_NOON = msk(2024, 3, 4, 12)
RULES = [
    SlaRule(VIP, "disabled", enabled=False),
    SlaRule(VIP, "vip clients", client_categories={"VIP"}),
    SlaRule(VIP, "company 42 incidents", company_ids={42}, ticket_types={"incident"}),
    SlaRule(NIGHT, "weekends", registered_within=(TimeWindow.weekends(),)),
    SlaRule(NIGHT, "nights", priorities={"high"},
            registered_within=(TimeWindow(start=time(22), end=time(6)),)),
    SlaRule(STANDARD, "everything else"),
]


# -- matching -------------------------------------------------------------------------------


def test_first_enabled_match_top_down() -> None:
    assert match_policy(RULES, facts(MONDAY_NOON)) is STANDARD
    assert match_policy(RULES, facts(MONDAY_NOON, client_category="VIP")) is VIP
    rule = match_rule(RULES, facts(MONDAY_NOON, client_category="VIP"))
    assert rule is not None and rule.name == "vip clients"


def test_every_condition_of_a_rule_must_match() -> None:
    assert match_policy(RULES, facts(MONDAY_NOON, company_id=42, ticket_type="incident")) is VIP
    assert match_policy(RULES, facts(MONDAY_NOON, company_id=42, ticket_type="question")) \
        is STANDARD
    assert match_policy(RULES, facts(MONDAY_NOON, ticket_type="incident")) is STANDARD


def test_registration_window_in_the_calendar_timezone() -> None:
    # Friday 22:30 UTC is Saturday 01:30 in Moscow: a weekend ticket.
    assert match_policy(RULES, facts(datetime(2024, 3, 1, 22, 30, tzinfo=UTC))) is NIGHT
    assert match_policy(RULES, facts(datetime(2024, 3, 1, 20, 30, tzinfo=UTC))) is STANDARD
    utc_window = SlaRule(NIGHT, registered_within=(TimeWindow.weekends("UTC"),))
    assert match_policy([utc_window], facts(datetime(2024, 3, 1, 22, 30, tzinfo=UTC))) is None


def test_window_past_midnight() -> None:
    high = {"priority": "high"}
    assert match_policy(RULES, facts(msk(2024, 3, 4, 23), **high)) is NIGHT
    assert match_policy(RULES, facts(msk(2024, 3, 5, 5, 59), **high)) is NIGHT
    assert match_policy(RULES, facts(msk(2024, 3, 5, 6), **high)) is STANDARD
    assert match_policy(RULES, facts(msk(2024, 3, 4, 23))) is STANDARD
    friday_nights = TimeWindow(weekdays={4}, start=time(22), end=time(6))
    assert friday_nights.contains(msk(2024, 3, 2, 3), "Europe/Moscow")  # Saturday 03:00
    assert not friday_nights.contains(msk(2024, 3, 1, 3), "Europe/Moscow")  # Friday 03:00


def test_window_bounds_and_whole_days() -> None:
    evening = TimeWindow(start=time(18), end=time(0))
    assert evening.contains(msk(2024, 3, 4, 23, 59, 59), "Europe/Moscow")
    assert not evening.contains(msk(2024, 3, 4, 17, 59), "Europe/Moscow")
    mondays = TimeWindow(weekdays={0})
    assert mondays.contains(msk(2024, 3, 4, 0), "Europe/Moscow")
    assert not mondays.contains(msk(2024, 3, 5, 0), "Europe/Moscow")


def test_no_rule_matches() -> None:
    assert match_policy(RULES[:3], facts(MONDAY_NOON)) is None
    assert match_policy([], facts(MONDAY_NOON)) is None


# -- planning and pauses ----------------------------------------------------------------------


def test_plan_friday_evening_ticket() -> None:
    reaction, resolution = plan(STANDARD, msk(2024, 3, 1, 17))
    assert reaction == msk(2024, 3, 4, 10)
    assert resolution == msk(2024, 3, 4, 16)


def test_resume_re_adds_the_remaining_working_time() -> None:
    due = plan(STANDARD, msk(2024, 3, 4, 9)).resolution_due
    assert due == msk(2024, 3, 4, 17)
    # Pending at Monday 11:00 (6 h left), back to Open on Wednesday 15:00.
    new_due = resume(STANDARD, due, msk(2024, 3, 4, 11), msk(2024, 3, 6, 15))
    assert new_due == msk(2024, 3, 7, 12)
    assert remaining_working_time(STANDARD, new_due, msk(2024, 3, 6, 15)) == 6 * H


def test_pause_outside_working_hours_changes_nothing() -> None:
    due = msk(2024, 3, 4, 12)
    assert resume(STANDARD, due, msk(2024, 3, 1, 19), msk(2024, 3, 4, 8)) == due
    assert resume(STANDARD, due, msk(2024, 3, 1, 19), msk(2024, 3, 1, 19)) == due


def test_pause_after_the_due_keeps_the_breach() -> None:
    due = msk(2024, 3, 4, 12)
    assert resume(STANDARD, due, msk(2024, 3, 4, 13), msk(2024, 3, 5, 13)) == due


def test_hand_set_due_in_non_working_time_never_moves_earlier() -> None:
    due = msk(2024, 3, 4, 7)  # Monday 07:00, before opening, set by hand
    assert resume(STANDARD, due, msk(2024, 3, 2, 10), msk(2024, 3, 3, 10)) == due


def test_resume_before_pause_is_refused() -> None:
    with pytest.raises(ValueError, match="before"):
        resume(STANDARD, MONDAY_NOON, msk(2024, 3, 4, 11), msk(2024, 3, 4, 10))


def test_resolution_time_is_the_sum_of_open_spans() -> None:
    # Resolved after 2 h, reopened a week later and answered in half an hour.
    registered = msk(2024, 3, 4, 10)
    spans = [(registered, registered + 2 * H),
             (msk(2024, 3, 11, 10), msk(2024, 3, 11, 10, 30))]
    total = sum((ALWAYS.working_time_between(a, b) for a, b in spans), timedelta(0))
    assert total == 2.5 * H


ZONES = ["Europe/Moscow", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
instants = st.datetimes(datetime(2024, 1, 1), datetime(2025, 12, 1), timezones=st.just(UTC))
hours = st.integers(1, 4 * 80).map(lambda q: q * timedelta(minutes=15))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ZONES), instants, hours, st.lists(st.tuples(
    st.timedeltas(timedelta(0), timedelta(days=5)), st.timedeltas(timedelta(0), timedelta(days=5))
), max_size=3))
def test_pauses_shift_the_due_by_the_working_time_lost(
    zone: str, registered: datetime, target: timedelta,
    pauses: list[tuple[timedelta, timedelta]],
) -> None:
    cal = ServiceCalendar.create(zone, {0: "09:00-13:00, 14:00-18:00", 1: "09:00-18:00",
                                        2: "09:00-18:00", 3: "00:00-24:00", 5: "10:00-14:00"})
    policy = Policy("p", cal, reaction=H, resolution=target)
    due = plan(policy, registered).resolution_due
    clock = registered
    for gap, length in pauses:
        paused, resumed = clock + gap, clock + gap + length
        new_due = resume(policy, due, paused, resumed)
        assert new_due >= due
        if paused < due:
            assert cal.working_time_between(resumed, new_due) == cal.working_time_between(
                paused, due)
            assert new_due == cal.add_working_time(due, cal.working_time_between(paused, resumed))
        else:
            assert new_due == due
        due, clock = new_due, resumed


# -- status -----------------------------------------------------------------------------------


def test_status_ok_warning_breached() -> None:
    due = msk(2024, 3, 4, 12)
    assert status_at(msk(2024, 3, 4, 11), due, 30 * M) == "ok"
    assert status_at(msk(2024, 3, 4, 11, 30), due, 30 * M) == "warning"
    assert status_at(msk(2024, 3, 4, 11, 59), due, 30 * M) == "warning"
    assert status_at(due, due, 30 * M) == "breached"
    assert status_at(msk(2024, 3, 5, 0), due, timedelta(0)) == "breached"
    assert status_at(datetime(2024, 3, 4, 8, 45, tzinfo=UTC), due, 30 * M) == "warning"
    with pytest.raises(ValueError):
        status_at(due, due, -M)


# -- reaction ---------------------------------------------------------------------------------


def ev(minute: int, kind: str, actor: str) -> TicketActivity:
    return TicketActivity(msk(2024, 3, 4, 10, minute), kind, actor)


def test_first_public_agent_comment_is_the_reaction() -> None:
    events = [
        ev(0, ActivityKind.CUSTOMER, ActorKind.CUSTOMER),
        ev(5, ActivityKind.INTERNAL_NOTE, ActorKind.AGENT),
        ev(6, ActivityKind.STATUS_CHANGE, ActorKind.SYSTEM),  # a trigger, not an agent
        ev(7, ActivityKind.FIELD_CHANGE, ActorKind.AGENT),
        ev(20, ActivityKind.PUBLIC_REPLY, ActorKind.AGENT),
        ev(30, ActivityKind.PUBLIC_REPLY, ActorKind.AGENT),
    ]
    assert first_reaction_at(events) == msk(2024, 3, 4, 10, 20)
    assert first_reaction_at(reversed(events)) == msk(2024, 3, 4, 10, 20)


def test_first_agent_status_change_is_the_reaction() -> None:
    events = [ev(0, "customer", "customer"), ev(9, "status_change", "agent"),
              ev(20, "public_reply", "agent")]
    assert first_reaction_at(events) == msk(2024, 3, 4, 10, 9)


def test_no_reaction_yet() -> None:
    assert first_reaction_at([ev(0, "customer", "customer"), ev(1, "system", "system")]) is None
    assert first_reaction_at([]) is None
