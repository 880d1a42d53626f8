"""The routing API's request and response bodies: rules (their conditions and time
window), their order, the default-observer cards of the desk, contacts and companies,
and the answer of re-running routing on a ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from helpdesk_common.records import Channel
from pydantic import BaseModel, ConfigDict, Field

from .api_common import Name
from .routing import Distribution

AgentIds = Annotated[list[int], Field(max_length=100)]
HourMinute = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM")]


class TimeWindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        min_length=1, max_length=7, description="ISO weekdays: 1 = Monday ... 7 = Sunday."
    )
    start: HourMinute
    end: HourMinute = Field(description="Before start: the window spans midnight.")
    timezone: str = Field(min_length=1, max_length=64, examples=["Europe/Moscow"])


class ConditionsIn(BaseModel):
    """Every given condition must hold; a list means "one of these"."""

    model_config = ConfigDict(extra="forbid")
    type_ids: list[int] | None = Field(default=None, max_length=100)
    priority_ids: list[int] | None = Field(default=None, max_length=100)
    channels: list[Channel] | None = Field(default=None, max_length=20)
    channel_accounts: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=100
    )
    company_category_ids: list[int] | None = Field(default=None, max_length=100)
    time_window: TimeWindowIn | None = None
    attributes: dict[str, list[str]] = Field(
        default_factory=dict, max_length=20, description="List attributes: key -> options."
    )


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    enabled: bool = True
    position: int | None = Field(default=None, ge=0, description="Default: after the last rule.")
    conditions: ConditionsIn = Field(default_factory=ConditionsIn)
    agent_id: int | None = Field(default=None, description="The responsible agent.")
    group_id: int | None = Field(default=None, description="The responsible group.")
    distribution: Distribution = Field(
        default=Distribution.NONE,
        description="Pick an agent inside group_id: round_robin or least_loaded.",
    )
    observer_agent_ids: AgentIds = Field(default_factory=list)
    observer_group_ids: AgentIds = Field(default_factory=list)


class RulePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    enabled: bool | None = None
    position: int | None = Field(default=None, ge=0)
    conditions: ConditionsIn | None = None
    agent_id: int | None = None
    group_id: int | None = None
    distribution: Distribution | None = None
    observer_agent_ids: AgentIds | None = None
    observer_group_ids: AgentIds | None = None


class RuleOut(BaseModel):
    id: int
    position: int
    enabled: bool
    name: str
    conditions: dict[str, Any]
    agent_id: int | None
    group_id: int | None
    distribution: Distribution
    observer_agent_ids: list[int]
    observer_group_ids: list[int]
    created_at: datetime


class RuleOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule_ids: list[int] = Field(min_length=1, max_length=1000, description="Every rule, in order.")


class ObserversCard(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default_observer_agent_ids: AgentIds = Field(default_factory=list)


class ContactCard(ObserversCard):
    manager_agent_id: int | None = Field(default=None, description="The responsible manager.")


class RouteOut(BaseModel):
    ticket_id: int
    routed: bool
    changed: bool
    reason: str | None = None
    source: str | None = None
    rule_id: int | None = None
    responsible_agent_id: int | None
    responsible_group_id: int | None
    observer_agent_ids: list[int]
