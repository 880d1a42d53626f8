"""Ticket links, pure: the kinds as seen from one ticket, and how a link is stored.

Seen from a ticket, a link has a kind and the other ticket. Agents make ``related``,
``parent``, ``child`` and ``duplicate_of`` (and see ``duplicated_by`` on the original);
ingestion makes ``follow_up_of`` / ``followed_up_by`` and ``possible_duplicate_of`` /
``possibly_duplicated_by`` (shown, never made or removed through the links API).

Stored (``ticket_links``), one row per link: ``(ticket_id, linked_ticket_id, kind)`` with
kind ``related`` (lower id first), ``parent`` (``linked_ticket_id`` is the parent of
``ticket_id``) or ``duplicate_of`` (``ticket_id`` duplicates ``linked_ticket_id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

StoredKind = Literal["related", "parent", "duplicate_of"]

# A kind seen from one side -> the same link seen from the other side.
INVERSE: dict[str, str] = {
    "related": "related",
    "parent": "child",
    "child": "parent",
    "duplicate_of": "duplicated_by",
    "duplicated_by": "duplicate_of",
    "follow_up_of": "followed_up_by",
    "followed_up_by": "follow_up_of",
    "possible_duplicate_of": "possibly_duplicated_by",
    "possibly_duplicated_by": "possible_duplicate_of",
}
# Kinds an agent makes and removes through the API.
MANUAL_KINDS = ("related", "parent", "child", "duplicate_of", "duplicated_by")
# Kinds only ingestion makes (the ticket columns).
SYSTEM_KINDS = ("follow_up_of", "followed_up_by", "possible_duplicate_of", "possibly_duplicated_by")
# Kinds whose stored direction must stay acyclic.
DIRECTED: tuple[StoredKind, ...] = ("parent", "duplicate_of")


class LinkError(ValueError):
    """A link the rules refuse (the API answers 422)."""


@dataclass(frozen=True)
class StoredLink:
    ticket_id: int
    linked_ticket_id: int
    kind: StoredKind


def stored(ticket_id: int, kind: str, other_id: int) -> StoredLink:
    """The row for "``ticket_id`` is ``kind`` ``other_id``" (e.g. 5 child 7: 7's parent is 5)."""
    if ticket_id == other_id:
        raise LinkError("a ticket cannot be linked to itself")
    if kind in SYSTEM_KINDS:
        raise LinkError(f"{kind} links are made by ingestion, not by hand")
    if kind == "related":
        low, high = sorted((ticket_id, other_id))
        return StoredLink(low, high, "related")
    if kind == "parent":
        return StoredLink(ticket_id, other_id, "parent")
    if kind == "child":
        return StoredLink(other_id, ticket_id, "parent")
    if kind == "duplicate_of":
        return StoredLink(ticket_id, other_id, "duplicate_of")
    if kind == "duplicated_by":
        return StoredLink(other_id, ticket_id, "duplicate_of")
    raise LinkError(f"unknown link kind {kind!r}: use one of {', '.join(MANUAL_KINDS)}")


def seen_from(link: StoredLink, ticket_id: int) -> tuple[str, int]:
    """(kind, other ticket) of a stored link seen from one of its two tickets."""
    if ticket_id == link.ticket_id:
        return link.kind, link.linked_ticket_id
    if ticket_id == link.linked_ticket_id:
        return INVERSE[link.kind], link.ticket_id
    raise ValueError(f"ticket {ticket_id} is not part of {link}")


def audit_text(kind: str, other_number: int) -> str:
    """An audit value: ``parent #1002`` (the link as the ticket of the audit row sees it)."""
    return f"{kind} #{other_number}"


def creates_cycle(new: StoredLink, ancestors_of_target: set[int]) -> bool:
    """Whether adding ``new`` (a directed kind) closes a cycle: ``ancestors_of_target`` are
    the tickets reachable from ``new.linked_ticket_id`` by following links of that kind
    (the target itself included)."""
    return new.kind in DIRECTED and new.ticket_id in ancestors_of_target
