"""Working-hours intervals, exception days and local-time resolution for service calendars.

Everything here is pure: no I/O, no clock reads. Local wall-clock times are turned into
instants by :func:`first_instant_at_or_after`, the one place where DST gaps and folds are
decided (see its docstring).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

DAY = timedelta(days=1)
_MICRO = timedelta(microseconds=1)
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


class CalendarError(ValueError):
    """A calendar, working-hours or exception-day definition is invalid."""


def parse_clock(text: str) -> timedelta:
    """``"09:30"`` / ``"09:30:15"`` / ``"24:00"`` -> the offset from local midnight."""
    match = _CLOCK.match(text)
    if match is None:
        raise CalendarError(f"not a clock time (HH:MM[:SS]): {text!r}")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    if minutes > 59 or seconds > 59 or hours > 24 or (hours == 24 and (minutes or seconds)):
        raise CalendarError(f"clock time out of range: {text!r}")
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def _offset(t: time) -> timedelta:
    if t.tzinfo is not None:
        raise CalendarError(f"working hours are local wall-clock times, got tz-aware {t}")
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


@dataclass(frozen=True, order=True)
class WorkingHours:
    """One working interval of a local day, ``[start, end)`` in wall-clock time.

    ``end == time(0)`` means midnight at the end of the day (24:00), so
    ``WorkingHours(time(0), time(0))`` is the whole day. Otherwise ``start < end`` is
    required: an overnight shift is two intervals (``22:00-24:00`` and ``00:00-06:00``).
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start_offset >= self.end_offset:
            raise CalendarError(f"working hours must end after they start: {self}")

    @property
    def start_offset(self) -> timedelta:
        return _offset(self.start)

    @property
    def end_offset(self) -> timedelta:
        offset = _offset(self.end)
        return DAY if offset == timedelta(0) else offset

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """``"09:00-13:00"``; ``"24:00"`` is accepted as an end."""
        parts = text.split("-")
        if len(parts) != 2:
            raise CalendarError(f"working hours look like '09:00-18:00', got {text!r}")
        start, end = (parse_clock(p) for p in parts)
        if start >= DAY:
            raise CalendarError(f"working hours cannot start at 24:00: {text!r}")
        return cls.from_offsets(start, end)

    @classmethod
    def from_offsets(cls, start: timedelta, end: timedelta) -> WorkingHours:
        return cls(_clock(start), _clock(end % DAY))

    def __str__(self) -> str:
        return f"{_fmt(self.start_offset)}-{_fmt(self.end_offset)}"


HoursSpec = WorkingHours | str
DaySpec = str | Sequence[HoursSpec]


def _clock(offset: timedelta) -> time:
    return (datetime.min + offset).time()


def _fmt(offset: timedelta) -> str:
    seconds = int(offset.total_seconds())
    text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}"
    return text + (f":{seconds % 60:02d}" if seconds % 60 else "")


def normalize_hours(spec: DaySpec | Iterable[HoursSpec]) -> tuple[WorkingHours, ...]:
    """Parse, sort and merge overlapping or touching intervals of one day.

    A string may hold several intervals separated by commas: ``"09:00-13:00, 14:00-18:00"``;
    an empty string or sequence means a closed day.
    """
    items: list[HoursSpec]
    if isinstance(spec, str):
        items = [p for p in spec.split(",") if p.strip()]
    else:
        items = list(spec)
    parsed = sorted(h if isinstance(h, WorkingHours) else WorkingHours.parse(h) for h in items)
    merged: list[tuple[timedelta, timedelta]] = []
    for h in parsed:
        if merged and h.start_offset <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], h.end_offset))
        else:
            merged.append((h.start_offset, h.end_offset))
    return tuple(WorkingHours.from_offsets(a, b) for a, b in merged)


@dataclass(frozen=True)
class ExceptionDay:
    """A local date whose hours replace the weekly ones.

    ``hours == ()`` is a holiday (closed); otherwise a shortened day or an extra working
    day (e.g. a Saturday worked in exchange for a bridge holiday).
    """

    day: date
    hours: tuple[WorkingHours, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "hours", normalize_hours(self.hours))

    @classmethod
    def holiday(cls, day: date) -> ExceptionDay:
        return cls(day, ())

    @classmethod
    def with_hours(cls, day: date, hours: DaySpec) -> ExceptionDay:
        return cls(day, normalize_hours(hours))


def first_instant_at_or_after(zone: tzinfo, wall: datetime) -> datetime:
    """The first instant (UTC) at which the local clock of ``zone`` reads ``wall`` or later.

    This is how every calendar boundary becomes an instant:

    * an ordinary local time maps to its only instant;
    * an ambiguous time (clocks set back, the hour is repeated) maps to its *first*
      occurrence (``fold=0``);
    * a nonexistent time (clocks set forward) maps to the moment of the change, i.e. the
      first real instant after the gap (``02:30`` on a Europe/Berlin spring-forward day
      becomes ``03:00 CEST``).

    The mapping is monotonic in ``wall``, so an interval never gets a negative length;
    an interval lying wholly inside a gap gets length zero.
    """
    naive = wall.replace(tzinfo=None)
    guess = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if guess.astimezone(zone).replace(tzinfo=None) == naive:
        return guess
    # In a gap: the two folds bracket the transition; bisect to the microsecond.
    other = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = min(guess, other), max(guess, other)
    while hi - lo > _MICRO:
        mid = lo + (hi - lo) // 2
        if mid.astimezone(zone).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return hi


def to_utc(moment: datetime, name: str = "datetime") -> datetime:
    """Aware datetime -> the same instant in UTC; naive datetimes are refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment!r}")
    return moment.astimezone(UTC)
