"""Service calendars: working time on local days of an IANA timezone.

A calendar has working hours per weekday (several intervals a day), exception days that
replace a weekday's hours (holidays, shortened days, extra working days) and a timezone.
All inputs are timezone-aware datetimes in any zone; all outputs are UTC datetimes.

Conventions (see also :func:`~ticket_core.sla.hours.first_instant_at_or_after`):

* The calendar's days are local dates of its timezone. A local boundary becomes the
  first instant at which the local clock reads that time or later: an ambiguous time is
  its first occurrence, a nonexistent one is the moment clocks jump forward. So a
  working interval on a DST-change day has its real length (``01:00-05:00`` lasts 3 h
  when clocks spring forward and 5 h when they fall back).
* Working intervals are half-open ``[start, end)``: ``is_working`` is true at 09:00 and
  false at 18:00 for 09:00-18:00.
* ``add_working_time(s, d)`` is the *earliest* instant ``t >= s`` with ``d`` of working
  time in ``[s, t)``. For ``d > 0`` it therefore lands inside a working interval or on
  its end (Friday 16:00 + 2 h = Friday 18:00, not Monday 09:00); ``add(s, 0) == s``.
  With this choice ``add(add(s, d1), d2) == add(s, d1 + d2)`` holds exactly.
* ``working_time_between(a, b)`` is antisymmetric (``-working_time_between(b, a)`` for
  ``a > b``), so ``between(a, b) + between(b, c) == between(a, c)`` for any order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .hours import (
    DAY,
    CalendarError,
    DaySpec,
    ExceptionDay,
    WorkingHours,
    first_instant_at_or_after,
    normalize_hours,
    to_utc,
)

Span = tuple[datetime, datetime]
_ZERO = timedelta(0)
_WHOLE_DAY = (WorkingHours(time(0), time(0)),)
_CACHE_LIMIT = 20_000


class NoWorkingTimeError(CalendarError):
    """The calendar has no working time from the given moment on."""


@dataclass(frozen=True)
class _Day:
    start: datetime  # the first instant of the local date (UTC)
    spans: tuple[Span, ...]  # working spans in UTC, sorted, non-overlapping, non-empty


@dataclass(frozen=True)
class ServiceCalendar:
    """Working hours per weekday (``weekly[0]`` is Monday), exception days, a timezone.

    Build one with :meth:`create` (strings such as ``"09:00-13:00, 14:00-18:00"``) or
    :meth:`always_open`. Instances are immutable and hashable; each keeps a private
    cache of computed days.
    """

    timezone: str
    weekly: tuple[tuple[WorkingHours, ...], ...]
    exceptions: tuple[ExceptionDay, ...] = ()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _by_day: dict[date, tuple[WorkingHours, ...]] = field(init=False, repr=False, compare=False)
    _always_open: bool = field(init=False, repr=False, compare=False)
    _last_working_day: date | None = field(init=False, repr=False, compare=False)
    _cache: dict[date, _Day] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CalendarError(f"unknown IANA timezone {self.timezone!r}") from exc
        if len(self.weekly) != 7:
            raise CalendarError(f"weekly hours need 7 days (Monday first), got {len(self.weekly)}")
        weekly = tuple(normalize_hours(day) for day in self.weekly)
        exceptions = tuple(sorted(self.exceptions, key=lambda e: e.day))
        days = [e.day for e in exceptions]
        if len(set(days)) != len(days):
            raise CalendarError("an exception day is listed twice")
        has_weekly_time = any(weekly)
        last = max((e.day for e in exceptions if e.hours), default=date.min)
        set_ = object.__setattr__
        set_(self, "weekly", weekly)
        set_(self, "exceptions", exceptions)
        set_(self, "_zone", zone)
        set_(self, "_by_day", {e.day: e.hours for e in exceptions})
        set_(
            self,
            "_always_open",
            all(d == _WHOLE_DAY for d in weekly) and all(e.hours == _WHOLE_DAY for e in exceptions),
        )
        set_(self, "_last_working_day", None if has_weekly_time else last)
        set_(self, "_cache", {})

    # -- construction -------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        timezone: str,
        weekly: Mapping[int, DaySpec],
        *,
        holidays: Iterable[date] = (),
        special_days: Mapping[date, DaySpec] | None = None,
    ) -> ServiceCalendar:
        """``weekly`` maps weekday (0 = Monday .. 6 = Sunday) to hours; missing = closed.

        ``special_days`` gives a date its own hours (shortened day, extra working day);
        ``holidays`` closes a date. A date may not be in both.
        """
        if not set(weekly) <= set(range(7)):
            raise CalendarError(f"weekdays are 0 (Monday) .. 6 (Sunday), got {sorted(weekly)}")
        week = tuple(normalize_hours(weekly.get(i, ())) for i in range(7))
        exceptions = [ExceptionDay.holiday(d) for d in holidays]
        exceptions += [ExceptionDay.with_hours(d, h) for d, h in (special_days or {}).items()]
        return cls(timezone, week, tuple(exceptions))

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> ServiceCalendar:
        """A 24/7 calendar: every instant is working time."""
        return cls(timezone, (_WHOLE_DAY,) * 7)

    # -- operations ---------------------------------------------------------------------

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant (UTC) by which ``duration`` of working time has elapsed
        after ``start``. Raises :class:`NoWorkingTimeError` if the calendar runs out."""
        s = to_utc(start, "start")
        if duration < _ZERO:
            raise ValueError(f"duration must not be negative, got {duration}")
        if duration == _ZERO:
            return s
        if self._always_open:
            return s + duration
        remaining = duration
        d = self._local_date(s)
        while True:
            self._check_has_time(d, s)
            for a, b in self._day(d).spans:
                if b <= s:
                    continue
                a = max(a, s)
                if remaining <= b - a:
                    return a + remaining
                remaining -= b - a
            d += DAY

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time in ``[a, b)``; negative (``-between(b, a)``) when ``a > b``."""
        ua, ub = to_utc(a, "a"), to_utc(b, "b")
        if ua > ub:
            return -self.working_time_between(ub, ua)
        if self._always_open:
            return ub - ua
        total = _ZERO
        for x, y in self.working_spans(ua, ub):
            total += y - x
        return total

    def working_spans(self, a: datetime, b: datetime) -> Iterator[Span]:
        """The working spans inside ``[a, b)`` (UTC, clipped, in order)."""
        ua, ub = to_utc(a, "a"), to_utc(b, "b")
        d = self._local_date(ua)
        while True:
            if self._last_working_day is not None and d > self._last_working_day:
                return
            day = self._day(d)
            if day.start >= ub:
                return
            for x, y in day.spans:
                lo, hi = max(x, ua), min(y, ub)
                if lo < hi:
                    yield lo, hi
            d += DAY

    def is_working(self, moment: datetime) -> bool:
        """Whether ``moment`` lies inside a working interval (start inclusive, end not)."""
        t = to_utc(moment, "moment")
        if self._always_open:
            return True
        d = self._local_date(t)
        while True:
            day = self._day(d)
            if day.start > t:
                return False
            if any(x <= t < y for x, y in day.spans):
                return True
            d += DAY

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` itself if working, else the start of the next working interval (UTC).
        Raises :class:`NoWorkingTimeError` if there is none."""
        t = to_utc(moment, "moment")
        if self._always_open:
            return t
        d = self._local_date(t)
        while True:
            self._check_has_time(d, t)
            for x, y in self._day(d).spans:
                if y > t:
                    return max(x, t)
            d += DAY

    def hours_on(self, day: date) -> tuple[WorkingHours, ...]:
        """The local working hours of a date (its exception day's, else its weekday's)."""
        return self._by_day.get(day, self.weekly[day.weekday()])

    # -- internals ----------------------------------------------------------------------

    def _local_date(self, t: datetime) -> date:
        return t.astimezone(self._zone).date()

    def _check_has_time(self, d: date, since: datetime) -> None:
        if self._last_working_day is not None and d > self._last_working_day:
            raise NoWorkingTimeError(
                f"calendar ({self.timezone}) has no working time after {since.isoformat()}: "
                "no weekly hours and no later exception day with hours"
            )

    def _day(self, d: date) -> _Day:
        cached = self._cache.get(d)
        if cached is not None:
            return cached
        midnight = datetime.combine(d, time())
        spans: list[Span] = []
        for h in self.hours_on(d):
            a = first_instant_at_or_after(self._zone, midnight + h.start_offset)
            b = first_instant_at_or_after(self._zone, midnight + h.end_offset)
            if a < b:
                spans.append((a, b))
        day = _Day(first_instant_at_or_after(self._zone, midnight), tuple(spans))
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[d] = day
        return day


__all__ = ["CalendarError", "NoWorkingTimeError", "ServiceCalendar", "Span"]
