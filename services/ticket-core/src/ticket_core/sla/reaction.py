"""When did an agent first react to a ticket?

Reaction is the first public agent comment or the first status change made by an agent.
Internal notes, customer messages and anything the system or a trigger does do not count.
Kinds reuse the ``MessageKind`` values of ticket-core (``public_reply`` ...).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .hours import to_utc


class ActivityKind(StrEnum):
    PUBLIC_REPLY = "public_reply"
    INTERNAL_NOTE = "internal_note"
    CUSTOMER = "customer"
    SYSTEM = "system"
    STATUS_CHANGE = "status_change"
    FIELD_CHANGE = "field_change"


class ActorKind(StrEnum):
    """Same values as ``ticket_core.audit.ActorKind``."""

    AGENT = "agent"
    CUSTOMER = "customer"
    SYSTEM = "system"  # automation, triggers, timers


_REACTIONS = frozenset({ActivityKind.PUBLIC_REPLY, ActivityKind.STATUS_CHANGE})


@dataclass(frozen=True)
class TicketActivity:
    """One entry of a ticket's event list, reduced to what reaction needs."""

    at: datetime
    kind: ActivityKind | str
    actor: ActorKind | str


def is_reaction(event: TicketActivity) -> bool:
    return event.actor == ActorKind.AGENT and event.kind in _REACTIONS


def first_reaction_at(events: Iterable[TicketActivity]) -> datetime | None:
    """The earliest reacting event's time (UTC), whatever the list's order; ``None`` if
    no agent has reacted yet."""
    times = [to_utc(e.at, "event.at") for e in events if is_reaction(e)]
    return min(times, default=None)
