"""The shapes of the service calendar and SLA rule API (requests and answers); the
validation beyond a field's own limits is in ``sla_api.py``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .api_common import Name

Hours = Annotated[str, Field(max_length=200, description="e.g. '09:00-13:00, 14:00-18:00'")]
Ids = Annotated[list[int], Field(max_length=1000)]
Minutes = Annotated[int, Field(gt=0, le=10 * 366 * 24 * 60)]


class WeekHours(BaseModel):
    """Local working hours per weekday; empty: closed."""

    model_config = ConfigDict(extra="forbid")
    monday: Hours = ""
    tuesday: Hours = ""
    wednesday: Hours = ""
    thursday: Hours = ""
    friday: Hours = ""
    saturday: Hours = ""
    sunday: Hours = ""


class ExceptionDayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: dt.date
    kind: Literal["holiday", "shortened", "working"] = Field(
        description="holiday: closed; shortened: fewer hours; working: an extra working day."
    )
    hours: Hours = ""


class CalendarIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    timezone: str = Field(min_length=1, max_length=64, description="IANA, e.g. Europe/Berlin")
    working_hours: WeekHours
    exception_days: list[ExceptionDayIn] = Field(default_factory=list, max_length=2000)


class CalendarPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    working_hours: WeekHours | None = None
    exception_days: list[ExceptionDayIn] | None = Field(default=None, max_length=2000)


class CalendarOut(BaseModel):
    id: int
    name: str
    timezone: str
    working_hours: dict[str, str]
    exception_days: list[dict[str, Any]]


class WindowIn(BaseModel):
    """Registration time window on the local clock; ``start > end`` wraps past midnight,
    ``start == end`` is the whole day. ``timezone`` null: the rule's calendar's."""

    model_config = ConfigDict(extra="forbid")
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default_factory=lambda: list(range(7)), min_length=1, max_length=7
    )
    start: str = Field(default="00:00", max_length=8)
    end: str = Field(default="00:00", max_length=8)
    timezone: str | None = Field(default=None, max_length=64)


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    calendar_id: int
    enabled: bool = True
    position: int | None = Field(default=None, ge=0, description="Default: after the others.")
    ticket_type_ids: Ids = Field(default_factory=list)
    priority_ids: Ids = Field(default_factory=list)
    company_category_ids: Ids = Field(default_factory=list)
    company_ids: Ids = Field(default_factory=list)
    registered_within: list[WindowIn] = Field(default_factory=list, max_length=50)
    reaction_minutes: Minutes = Field(description="Reaction target, in working minutes.")
    resolution_minutes: Minutes = Field(description="Resolution target, in working minutes.")
    warning_minutes: int = Field(
        default=0, ge=0, description="Warn this long (wall-clock) before a due time; 0: never."
    )


class RulePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    calendar_id: int | None = None
    enabled: bool | None = None
    position: int | None = Field(default=None, ge=0)
    ticket_type_ids: Ids | None = None
    priority_ids: Ids | None = None
    company_category_ids: Ids | None = None
    company_ids: Ids | None = None
    registered_within: list[WindowIn] | None = Field(default=None, max_length=50)
    reaction_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    warning_minutes: int | None = Field(default=None, ge=0)


class RuleOut(BaseModel):
    id: int
    name: str
    position: int
    enabled: bool
    calendar_id: int
    ticket_type_ids: list[int]
    priority_ids: list[int]
    company_category_ids: list[int]
    company_ids: list[int]
    registered_within: list[dict[str, Any]]
    reaction_minutes: int
    resolution_minutes: int
    warning_minutes: int


class Reorder(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule_ids: list[int] = Field(
        min_length=1, max_length=10_000, description="Every rule, once, in the new order."
    )
