"""What triggers and macros do, as JSON: the action types and their static validation (pure).

Actions (``type``):

- ``set_status``: ``status_id`` (a custom status); ``pending_hours`` for a pending one
- ``set_priority``: ``priority_id``; ``set_type``: ``type_id`` (null clears)
- ``assign``: ``agent_id`` and/or ``group_id`` (null clears; a key left out is kept)
- ``add_observers``: ``agent_ids``, ``group_ids`` (added to the ticket's observers)
- ``add_tag`` / ``remove_tag``: ``tag``
- ``add_note``: ``text`` (an internal note)
- ``notify``: ``template``, ``recipients`` (a ``notify.requested`` ticket event for the
  notifier; recipients: ``contact``, ``responsible``, ``group``, ``observers``,
  ``agent:<id>``, ``group:<id>``, ``email:<address>``)
- ``reply``: ``text`` (a canned public reply to the contact, on the ticket's channel)

References (statuses, agents...) are checked against the database by ``trigger_executor``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

Text = Annotated[str, Field(min_length=1, max_length=20_000)]
Tag = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\s,][^,]*$")]
_RECIPIENT = re.compile(
    r"^(contact|responsible|group|observers|agent:\d+|group:\d+|email:[^@\s,]+@[^@\s,]+)$"
)


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SetStatus(_Action):
    type: Literal["set_status"]
    status_id: int
    pending_hours: float | None = Field(
        default=None, gt=0, le=24 * 365, description="Pending until now + this (pending only)."
    )


class SetPriority(_Action):
    type: Literal["set_priority"]
    priority_id: int


class SetType(_Action):
    type: Literal["set_type"]
    type_id: int | None


class Assign(_Action):
    type: Literal["assign"]
    agent_id: int | None = None
    group_id: int | None = None


class AddObservers(_Action):
    type: Literal["add_observers"]
    agent_ids: list[int] = Field(default_factory=list, max_length=100)
    group_ids: list[int] = Field(default_factory=list, max_length=100)


class AddTag(_Action):
    type: Literal["add_tag"]
    tag: Tag


class RemoveTag(_Action):
    type: Literal["remove_tag"]
    tag: Tag


class AddNote(_Action):
    type: Literal["add_note"]
    text: Text


class Notify(_Action):
    type: Literal["notify"]
    template: Annotated[str, Field(min_length=1, max_length=200)]
    recipients: list[str] = Field(min_length=1, max_length=50)

    @field_validator("recipients")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        for item in value:
            if not _RECIPIENT.match(item):
                raise ValueError(f"unknown recipient {item!r}")
        return value


class Reply(_Action):
    type: Literal["reply"]
    text: Text


Action = Annotated[
    SetStatus
    | SetPriority
    | SetType
    | Assign
    | AddObservers
    | AddTag
    | RemoveTag
    | AddNote
    | Notify
    | Reply,
    Field(discriminator="type"),
]
ActionList = Annotated[list[Action], Field(min_length=1, max_length=50)]
_ADAPTER: TypeAdapter[list[Action]] = TypeAdapter(ActionList)


class ActionError(ValueError):
    """An action list that cannot run (the API answers 422 with this reason)."""


def describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"])
        parts.append(f"actions.{where}: {item['msg']}" if where else item["msg"])
    return "; ".join(parts)


def parse_actions(raw: Any) -> list[Action]:
    """Validate stored or submitted JSON; raises ``ActionError`` with the reason."""
    try:
        return _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        raise ActionError(describe(exc)) from None


def dump_actions(actions: Sequence[Action]) -> list[dict[str, Any]]:
    """JSON for storage; keys left out of ``assign`` stay out (they mean 'keep')."""
    return [a.model_dump(mode="json", exclude_unset=True) | {"type": a.type} for a in actions]
