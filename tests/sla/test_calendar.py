"""Service-calendar arithmetic: worked examples and Hypothesis properties."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ticket_core.sla import (
    CalendarError,
    ExceptionDay,
    NoWorkingTimeError,
    ServiceCalendar,
    WorkingHours,
)
from ticket_core.sla.hours import first_instant_at_or_after

MSK = ZoneInfo("Europe/Moscow")
BER = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
M = timedelta(minutes=1)
US = timedelta(microseconds=1)
WEEKDAYS_9_18 = {i: "09:00-18:00" for i in range(5)}


# Expected values are converted to UTC: an aware datetime at an ambiguous or nonexistent
# local time never compares equal to one in another zone (PEP 495).
def msk(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=MSK).astimezone(UTC)


def ber(y: int, mo: int, d: int, h: int = 0, mi: int = 0, fold: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=BER, fold=fold).astimezone(UTC)


@pytest.fixture
def moscow() -> ServiceCalendar:
    return ServiceCalendar.create("Europe/Moscow", WEEKDAYS_9_18)


# -- worked examples ------------------------------------------------------------------------


def test_friday_17_with_two_hours_is_due_monday_10(moscow: ServiceCalendar) -> None:
    due = moscow.add_working_time(msk(2024, 3, 1, 17, 0), 2 * H)  # a Friday
    assert due == msk(2024, 3, 4, 10, 0)
    assert due.tzinfo is UTC
    assert moscow.working_time_between(msk(2024, 3, 1, 17, 0), due) == 2 * H


def test_inputs_in_any_timezone_outputs_in_utc(moscow: ServiceCalendar) -> None:
    utc_start = datetime(2024, 3, 1, 14, 0, tzinfo=UTC)  # 17:00 in Moscow
    assert moscow.add_working_time(utc_start, 2 * H) == datetime(2024, 3, 4, 7, 0, tzinfo=UTC)
    ny_start = utc_start.astimezone(ZoneInfo("America/New_York"))
    assert moscow.add_working_time(ny_start, 2 * H) == datetime(2024, 3, 4, 7, 0, tzinfo=UTC)


def test_ends_at_the_closing_time_not_the_next_opening(moscow: ServiceCalendar) -> None:
    assert moscow.add_working_time(msk(2024, 3, 1, 16, 0), 2 * H) == msk(2024, 3, 1, 18, 0)
    assert moscow.add_working_time(msk(2024, 3, 1, 20, 0), timedelta(0)) == msk(2024, 3, 1, 20)


def test_start_outside_hours_counts_from_the_next_opening(moscow: ServiceCalendar) -> None:
    assert moscow.add_working_time(msk(2024, 3, 2, 12, 0), H) == msk(2024, 3, 4, 10, 0)
    assert moscow.add_working_time(msk(2024, 3, 4, 7, 0), 30 * M) == msk(2024, 3, 4, 9, 30)
    assert moscow.next_working_moment(msk(2024, 3, 2, 12, 0)) == msk(2024, 3, 4, 9, 0)
    assert moscow.next_working_moment(msk(2024, 3, 4, 12, 0)) == msk(2024, 3, 4, 12, 0)


def test_half_open_intervals(moscow: ServiceCalendar) -> None:
    assert moscow.is_working(msk(2024, 3, 4, 9, 0))
    assert moscow.is_working(msk(2024, 3, 4, 17, 59, 59))
    assert not moscow.is_working(msk(2024, 3, 4, 18, 0))
    assert not moscow.is_working(msk(2024, 3, 4, 8, 59, 59))


def test_lunch_break() -> None:
    cal = ServiceCalendar.create("Europe/Moscow", {0: "09:00-13:00, 14:00-18:00"})
    assert cal.add_working_time(msk(2024, 3, 4, 12, 30), H) == msk(2024, 3, 4, 14, 30)
    assert cal.working_time_between(msk(2024, 3, 4, 0), msk(2024, 3, 5, 0)) == 8 * H
    assert not cal.is_working(msk(2024, 3, 4, 13, 30))


def test_several_weeks_and_negative_spans(moscow: ServiceCalendar) -> None:
    start, end = msk(2024, 3, 4, 9), msk(2024, 4, 1, 9)  # four whole weeks
    assert moscow.working_time_between(start, end) == 4 * 45 * H
    assert moscow.working_time_between(end, start) == -4 * 45 * H
    assert moscow.add_working_time(start, 4 * 45 * H) == msk(2024, 3, 29, 18)


def test_holidays_shortened_day_and_weekend_working_day() -> None:
    # Russia, spring 2024: Saturday 27 April worked (shortened, before the holidays),
    # 29 April - 1 May off; a shortened Wednesday 8 May before the 9 May holiday.
    cal = ServiceCalendar.create(
        "Europe/Moscow",
        WEEKDAYS_9_18,
        holidays=[date(2024, 4, 29), date(2024, 4, 30), date(2024, 5, 1), date(2024, 5, 9)],
        special_days={date(2024, 4, 27): "09:00-17:00", date(2024, 5, 8): "09:00-17:00"},
    )
    assert cal.add_working_time(msk(2024, 4, 26, 17), 3 * H) == msk(2024, 4, 27, 11)
    assert cal.add_working_time(msk(2024, 4, 27, 16), 2 * H) == msk(2024, 5, 2, 10)
    assert cal.working_time_between(msk(2024, 4, 26, 9), msk(2024, 5, 2, 9)) == 17 * H
    assert cal.add_working_time(msk(2024, 5, 8, 16), 2 * H) == msk(2024, 5, 10, 10)
    assert not cal.is_working(msk(2024, 5, 8, 17, 30))
    assert cal.is_working(msk(2024, 4, 27, 10))
    assert cal.next_working_moment(msk(2024, 4, 27, 17)) == msk(2024, 5, 2, 9)


def test_dst_spring_forward_interval_spanning_the_change_is_shorter() -> None:
    # Europe/Berlin, Sunday 31 March 2024: 02:00 CET -> 03:00 CEST.
    cal = ServiceCalendar.create("Europe/Berlin", {6: "00:00-06:00"})
    assert cal.working_time_between(ber(2024, 3, 31, 0), ber(2024, 3, 31, 12)) == 5 * H
    assert cal.working_time_between(ber(2024, 3, 24, 0), ber(2024, 3, 24, 12)) == 6 * H
    assert cal.add_working_time(ber(2024, 3, 31, 1), 2 * H) == ber(2024, 3, 31, 4)
    assert cal.add_working_time(ber(2024, 3, 31, 1), 5 * H) == ber(2024, 4, 7, 1)


def test_dst_fall_back_interval_spanning_the_change_is_longer() -> None:
    # Europe/Berlin, Sunday 27 October 2024: 03:00 CEST -> 02:00 CET (02:xx twice).
    cal = ServiceCalendar.create("Europe/Berlin", {6: "00:00-06:00"})
    assert cal.working_time_between(ber(2024, 10, 27, 0), ber(2024, 10, 27, 12)) == 7 * H
    assert cal.add_working_time(ber(2024, 10, 27, 1), 2 * H) == ber(2024, 10, 27, 2, fold=1)
    assert cal.is_working(ber(2024, 10, 27, 2, 30, fold=1))


def test_dst_boundaries_inside_the_gap_and_the_fold() -> None:
    gap = ServiceCalendar.create("Europe/Berlin", {6: "02:30-04:00"})
    # 02:30 does not exist on 31 March: the interval starts when clocks jump to 03:00.
    assert gap.next_working_moment(ber(2024, 3, 31, 1)) == ber(2024, 3, 31, 3)
    assert gap.working_time_between(ber(2024, 3, 31, 0), ber(2024, 3, 31, 12)) == H
    fold = ServiceCalendar.create("Europe/Berlin", {6: "02:30-05:00"})
    # 02:30 happens twice on 27 October: the interval starts at the first one (CEST).
    assert fold.next_working_moment(ber(2024, 10, 27, 0)) == ber(2024, 10, 27, 2, 30)
    assert fold.working_time_between(ber(2024, 10, 27, 0), ber(2024, 10, 28, 0)) == 3.5 * H
    inside_gap = ServiceCalendar.create("Europe/Berlin", {6: "02:10-02:50"})
    assert inside_gap.working_time_between(ber(2024, 3, 31, 0), ber(2024, 4, 1, 0)) == 0 * H


def test_weekdays_across_a_dst_weekend() -> None:
    cal = ServiceCalendar.create("Europe/Berlin", WEEKDAYS_9_18)
    start = ber(2024, 3, 29, 17)  # Friday, CET; Monday is CEST
    assert cal.add_working_time(start, 2 * H) == ber(2024, 4, 1, 10)
    assert cal.add_working_time(start, 2 * H) - start.astimezone(UTC) == 64 * H


def test_midnight_that_does_not_exist() -> None:
    # America/Santiago, 8 September 2024: 00:00 -> 01:00, the day starts at 01:00.
    scl = ZoneInfo("America/Santiago")
    cal = ServiceCalendar.create("America/Santiago", {6: "00:00-24:00"})
    start = datetime(2024, 9, 7, 12, tzinfo=scl)
    assert cal.next_working_moment(start) == datetime(2024, 9, 8, 1, tzinfo=scl)
    assert cal.working_time_between(start, datetime(2024, 9, 10, tzinfo=scl)) == 23 * H


def test_always_open() -> None:
    cal = ServiceCalendar.always_open("Europe/Berlin")
    start = ber(2024, 3, 30, 23)
    assert cal.add_working_time(start, 24 * H) == ber(2024, 4, 1, 0)  # 25 wall-clock hours
    assert cal.working_time_between(start, ber(2024, 4, 1, 0)) == 24 * H
    assert cal.is_working(ber(2024, 3, 31, 3))
    same = ServiceCalendar.create("Europe/Berlin", {i: "00:00-24:00" for i in range(7)})
    assert same == cal
    assert hash(same) == hash(cal)


def test_no_working_time_at_all() -> None:
    cal = ServiceCalendar.create("UTC", {})
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(NoWorkingTimeError, match="no working time"):
        cal.add_working_time(start, H)
    with pytest.raises(NoWorkingTimeError):
        cal.next_working_moment(start)
    assert cal.working_time_between(start, start + timedelta(days=3650)) == timedelta(0)
    assert not cal.is_working(start)
    assert cal.add_working_time(start, timedelta(0)) == start


def test_only_exception_days_have_hours() -> None:
    cal = ServiceCalendar.create("UTC", {}, special_days={date(2024, 1, 6): "10:00-12:00"})
    start = datetime(2024, 1, 1, tzinfo=UTC)
    assert cal.add_working_time(start, H) == datetime(2024, 1, 6, 11, tzinfo=UTC)
    with pytest.raises(NoWorkingTimeError):
        cal.add_working_time(start, 3 * H)


def test_long_durations_are_fast(moscow: ServiceCalendar) -> None:
    start = msk(2024, 1, 1, 9)
    due = moscow.add_working_time(start, 2000 * 9 * H)  # ~8 years of working days
    assert moscow.working_time_between(start, due) == 2000 * 9 * H


def test_invalid_definitions_and_inputs(moscow: ServiceCalendar) -> None:
    with pytest.raises(CalendarError):
        WorkingHours.parse("18:00-09:00")
    with pytest.raises(CalendarError):
        WorkingHours.parse("25:00-26:00")
    with pytest.raises(CalendarError, match="timezone"):
        ServiceCalendar.create("Mars/Olympus", WEEKDAYS_9_18)
    with pytest.raises(CalendarError, match="twice"):
        ServiceCalendar.create("UTC", {}, holidays=[date(2024, 1, 1)],
                               special_days={date(2024, 1, 1): "09:00-10:00"})
    with pytest.raises(ValueError, match="timezone-aware"):
        moscow.add_working_time(datetime(2024, 1, 1), H)
    with pytest.raises(ValueError, match="negative"):
        moscow.add_working_time(msk(2024, 1, 1), -H)


def test_hours_are_normalised() -> None:
    cal = ServiceCalendar.create("UTC", {0: ["13:00-18:00", "09:00-13:00", "10:00-11:00"]})
    assert cal.weekly[0] == (WorkingHours(time(9), time(18)),)
    assert str(WorkingHours.parse("22:00-24:00")) == "22:00-24:00"
    assert ExceptionDay.holiday(date(2024, 1, 1)).hours == ()


# -- DST resolution against a brute-force scan ----------------------------------------------


@pytest.mark.parametrize(
    "zone",
    ["Europe/Berlin", "America/New_York", "America/Santiago", "Australia/Lord_Howe",
     "Pacific/Chatham"],
)
def test_first_instant_at_or_after_matches_a_scan(zone: str) -> None:
    tz = ZoneInfo(zone)
    step = 5 * M
    transitions = []
    t = datetime(2024, 1, 1, tzinfo=UTC)
    while t.year < 2025:
        if (t + 15 * M).astimezone(tz).utcoffset() != t.astimezone(tz).utcoffset():
            transitions.append(t + 15 * M)
        t += 15 * M
    assert transitions
    for moment in transitions:
        base = moment.astimezone(tz).replace(tzinfo=None, fold=0)
        for k in range(-30, 31):
            wall = base + k * step
            got = first_instant_at_or_after(tz, wall)
            scan = moment - 18 * H
            while scan.astimezone(tz).replace(tzinfo=None) < wall:
                scan += step
            assert got == scan, (zone, wall)


# -- properties over random calendars ---------------------------------------------------------

ZONES = ["UTC", "Europe/Moscow", "Europe/Berlin", "America/New_York", "America/Santiago",
         "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham"]
LO, HI = datetime(2024, 1, 1), datetime(2025, 12, 1)
# Local dates of DST changes in ZONES (2024-2025): moments and exception days cluster here.
DST_DAYS = [date(2024, 3, 10), date(2024, 3, 31), date(2024, 4, 6), date(2024, 4, 7),
            date(2024, 9, 8), date(2024, 9, 29), date(2024, 10, 6), date(2024, 10, 27),
            date(2024, 11, 3), date(2025, 3, 9), date(2025, 3, 30), date(2025, 4, 5),
            date(2025, 4, 6), date(2025, 9, 7), date(2025, 9, 28), date(2025, 10, 5),
            date(2025, 10, 26), date(2025, 11, 2)]
any_day = st.one_of(
    st.dates(LO.date(), HI.date()),
    st.builds(lambda d, k: d + timedelta(days=k), st.sampled_from(DST_DAYS), st.integers(-3, 3)),
)


@st.composite
def day_hours(draw: st.DrawFn) -> list[WorkingHours]:
    points = sorted(draw(st.lists(st.integers(0, 96), max_size=6, unique=True)))
    quarter = timedelta(minutes=15)
    pairs = zip(points[::2], points[1::2], strict=False)
    return [WorkingHours.from_offsets(a * quarter, b * quarter) for a, b in pairs]


@st.composite
def calendars(draw: st.DrawFn) -> ServiceCalendar:
    zone = draw(st.sampled_from(ZONES))
    weekly = draw(st.lists(day_hours(), min_size=7, max_size=7).filter(any))
    days = draw(st.lists(any_day, max_size=10, unique=True))
    exceptions = [ExceptionDay(d, tuple(draw(day_hours()))) for d in days]
    return ServiceCalendar(zone, tuple(tuple(h) for h in weekly), tuple(exceptions))


@st.composite
def moments(draw: st.DrawFn, cal: ServiceCalendar) -> datetime:
    """Arbitrary instants, plus local quarter-hours (boundaries, DST edges) of either fold."""
    if draw(st.booleans()):
        return draw(st.datetimes(LO, HI, timezones=st.just(UTC)))
    day = draw(any_day)
    wall = datetime.combine(day, time()) + draw(st.integers(0, 95)) * timedelta(minutes=15)
    return wall.replace(tzinfo=ZoneInfo(cal.timezone), fold=draw(st.integers(0, 1)))


durations = st.one_of(
    st.timedeltas(timedelta(0), timedelta(weeks=3)),
    st.integers(0, 4 * 24 * 21).map(lambda q: q * timedelta(minutes=15)),
)
FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.data(), calendars(), durations)
def test_measure_of_add_is_the_duration(data: st.DataObject, cal: ServiceCalendar,
                                        d: timedelta) -> None:
    s = data.draw(moments(cal))
    end = cal.add_working_time(s, d)
    assert end >= s
    assert cal.working_time_between(s, end) == d
    if d:  # never inside a non-working period: on a working instant's end at most
        assert cal.is_working(end - US)
        assert cal.working_time_between(s, end - US) < d  # and the earliest such instant


@FAST
@given(st.data(), calendars(), durations, durations)
def test_add_is_additive(data: st.DataObject, cal: ServiceCalendar, d1: timedelta,
                         d2: timedelta) -> None:
    s = data.draw(moments(cal))
    assert cal.add_working_time(cal.add_working_time(s, d1), d2) == cal.add_working_time(
        s, d1 + d2
    )


@FAST
@given(st.data(), calendars(), durations, durations)
def test_add_is_monotonic(data: st.DataObject, cal: ServiceCalendar, d1: timedelta,
                          d2: timedelta) -> None:
    s1, s2 = sorted([data.draw(moments(cal)), data.draw(moments(cal))])
    d1, d2 = sorted([d1, d2])
    assert cal.add_working_time(s1, d1) <= cal.add_working_time(s2, d1)
    assert cal.add_working_time(s1, d1) <= cal.add_working_time(s1, d2)


@FAST
@given(st.data(), calendars())
def test_between_is_additive_over_any_split_point(data: st.DataObject,
                                                  cal: ServiceCalendar) -> None:
    a = data.draw(moments(cal))
    offsets = st.one_of(
        st.timedeltas(-timedelta(days=30), timedelta(days=30)),
        st.integers(-4 * 24 * 30, 4 * 24 * 30).map(lambda q: q * timedelta(minutes=15)),
    )
    b, c = a + data.draw(offsets), a + data.draw(offsets)
    ab, bc, ac = (cal.working_time_between(x, y) for x, y in ((a, b), (b, c), (a, c)))
    assert ab + bc == ac
    assert cal.working_time_between(b, a) == -ab


@FAST
@given(st.data(), calendars())
def test_spans_is_working_and_next_working_moment_agree(data: st.DataObject,
                                                        cal: ServiceCalendar) -> None:
    t = data.draw(moments(cal))
    nxt = cal.next_working_moment(t)
    assert nxt >= t and cal.is_working(nxt)
    assert cal.working_time_between(t, nxt) == timedelta(0)
    assert cal.is_working(t) == (nxt == t)
    assert cal.is_working(t) == (cal.working_time_between(t, t + US) == US)
    spans = list(cal.working_spans(t, t + timedelta(days=10)))
    for (a, b), (c, _) in itertools.pairwise(spans):
        assert a < b <= c
    for a, b in spans:
        assert cal.is_working(a) and cal.is_working(b - US)
    assert sum((b - a for a, b in spans), timedelta(0)) == cal.working_time_between(
        t, t + timedelta(days=10)
    )
