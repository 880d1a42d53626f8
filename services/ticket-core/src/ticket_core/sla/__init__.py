"""SLA domain: service calendars, SLA rules and policies. Pure: no database, no I/O.

See ``calendar.py`` for the time conventions (UTC out, DST handling, boundaries).
"""

from .calendar import NoWorkingTimeError, ServiceCalendar
from .hours import CalendarError, ExceptionDay, WorkingHours
from .policies import (
    Policy,
    SlaPlan,
    SlaRule,
    SlaStatus,
    TicketFacts,
    TimeWindow,
    match_policy,
    match_rule,
    plan,
    remaining_working_time,
    resume,
    status_at,
)
from .reaction import ActivityKind, ActorKind, TicketActivity, first_reaction_at, is_reaction

__all__ = [
    "ActivityKind",
    "ActorKind",
    "CalendarError",
    "ExceptionDay",
    "NoWorkingTimeError",
    "Policy",
    "ServiceCalendar",
    "SlaPlan",
    "SlaRule",
    "SlaStatus",
    "TicketActivity",
    "TicketFacts",
    "TimeWindow",
    "WorkingHours",
    "first_reaction_at",
    "is_reaction",
    "match_policy",
    "match_rule",
    "plan",
    "remaining_working_time",
    "resume",
    "status_at",
]
