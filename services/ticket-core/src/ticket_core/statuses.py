"""Status rules, pure: which category moves are allowed and what a move does to the clocks.

A ticket's ``status`` is one of four categories; its ``status_id`` a custom status mapped
onto that category. Allowed moves between categories:

    open -> pending | resolved        pending -> open | resolved
    resolved -> closed | open         closed: final

A change of custom status inside one category is always allowed (except on a closed
ticket: closed is final). Pending needs an until-time in the future.

The resolution clock counts open spans only: ``worked_seconds`` holds the finished spans,
``open_since`` the start of the current one (null outside Open). So a ticket resolved
after an hour, reopened a week later and resolved again half an hour after that has a
resolution time of 1.5 hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from .models import TicketStatus as Category

ALLOWED: Mapping[Category, frozenset[Category]] = {
    Category.OPEN: frozenset({Category.PENDING, Category.RESOLVED}),
    Category.PENDING: frozenset({Category.OPEN, Category.RESOLVED}),
    Category.RESOLVED: frozenset({Category.CLOSED, Category.OPEN}),
    Category.CLOSED: frozenset(),
}

# The columns a status move may change (every writer updates all of them together).
CLOCK_COLUMNS = (
    "status",
    "status_id",
    "open_since",
    "worked_seconds",
    "resolved_at",
    "closed_at",
    "pending_until",
    "auto_close_at",
    "reopen_count",
)


class TransitionError(ValueError):
    """A status change the rules refuse; the message says why (the API answers 422)."""


def check_transition(old: str, new: str) -> None:
    source, target = Category(old), Category(new)
    if source is Category.CLOSED:
        raise TransitionError("the ticket is closed: closed is final")
    if source is target:
        return
    if target not in ALLOWED[source]:
        allowed = " or ".join(sorted(c.value for c in ALLOWED[source]))
        raise TransitionError(
            f"a ticket cannot go from {source.value} to {target.value} "
            f"(from {source.value} it can go to {allowed})"
        )


def enter(
    ticket: Mapping[str, Any],
    new: str,
    status_id: int,
    now: datetime,
    *,
    pending_until: datetime | None = None,
    auto_close_after: timedelta | None = None,
) -> dict[str, Any]:
    """New values of ``CLOCK_COLUMNS`` after moving ``ticket`` to category ``new``.

    Raises ``TransitionError`` for a move the rules refuse. ``auto_close_after`` is
    required to enter Resolved, ``pending_until`` (in the future) to enter Pending.
    """
    old = Category(ticket["status"])
    target = Category(new)
    check_transition(old, target)
    values: dict[str, Any] = {column: ticket.get(column) for column in CLOCK_COLUMNS}
    values.update(status=target.value, status_id=status_id)
    values["worked_seconds"] = float(ticket.get("worked_seconds") or 0.0)
    values["reopen_count"] = int(ticket.get("reopen_count") or 0)
    if target is Category.PENDING:
        until = pending_until or (ticket.get("pending_until") if old is target else None)
        if until is None:
            raise TransitionError("pending needs an until-time (pending_until)")
        if until.tzinfo is None:
            raise TransitionError("pending_until needs a timezone")
        if pending_until is not None and until <= now:
            raise TransitionError("pending_until must be in the future")
        values["pending_until"] = until
    elif pending_until is not None:
        raise TransitionError("pending_until is only for pending statuses")
    if old is target:
        return values

    if old is Category.OPEN:
        values["worked_seconds"] += open_span(ticket, now)
        values["open_since"] = None
    if old is Category.PENDING:
        values["pending_until"] = None
    if old is Category.RESOLVED:
        values["auto_close_at"] = None

    if target is Category.OPEN:
        values["open_since"] = now
        if old is Category.RESOLVED:
            values["reopen_count"] += 1
            values["resolved_at"] = None
    elif target is Category.RESOLVED:
        if auto_close_after is None:
            raise ValueError("entering resolved needs auto_close_after")
        values["resolved_at"] = now
        values["auto_close_at"] = now + auto_close_after
    elif target is Category.CLOSED:
        values["closed_at"] = now
    return values


def open_span(ticket: Mapping[str, Any], now: datetime) -> float:
    """Seconds of the current open span (0 outside Open)."""
    since = ticket.get("open_since")
    if ticket.get("status") != Category.OPEN or since is None:
        return 0.0
    return max(0.0, float((now - since).total_seconds()))


def resolution_seconds(ticket: Mapping[str, Any], now: datetime) -> float:
    """Time spent Open so far: the resolution time once the ticket is resolved."""
    return float(ticket.get("worked_seconds") or 0.0) + open_span(ticket, now)
