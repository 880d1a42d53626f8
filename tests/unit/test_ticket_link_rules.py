"""Ticket link rules, pure: how each kind is stored, seen from either side, refusals,
and the cycle test."""

from __future__ import annotations

import pytest
from ticket_core.ticket_links_rules import (
    INVERSE,
    MANUAL_KINDS,
    SYSTEM_KINDS,
    LinkError,
    StoredLink,
    audit_text,
    creates_cycle,
    seen_from,
    stored,
)


@pytest.mark.parametrize(
    ("ticket", "kind", "other", "row"),
    [
        (7, "related", 5, StoredLink(5, 7, "related")),
        (5, "related", 7, StoredLink(5, 7, "related")),
        (5, "parent", 7, StoredLink(5, 7, "parent")),
        (5, "child", 7, StoredLink(7, 5, "parent")),
        (5, "duplicate_of", 7, StoredLink(5, 7, "duplicate_of")),
        (5, "duplicated_by", 7, StoredLink(7, 5, "duplicate_of")),
    ],
)
def test_each_kind_is_stored_one_way_and_seen_back_from_both_sides(
    ticket: int, kind: str, other: int, row: StoredLink
) -> None:
    assert stored(ticket, kind, other) == row
    assert seen_from(row, ticket) == (kind, other)
    assert seen_from(row, other) == (INVERSE[kind], ticket)
    assert stored(other, INVERSE[kind], ticket) == row  # the same link from the other side


def test_inverse_is_an_involution_over_every_kind() -> None:
    for kind in (*MANUAL_KINDS, *SYSTEM_KINDS):
        assert INVERSE[INVERSE[kind]] == kind


@pytest.mark.parametrize(
    ("ticket", "kind", "other", "reason"),
    [
        (5, "related", 5, "itself"),
        (5, "sibling", 7, "unknown link kind 'sibling'"),
        (5, "follow_up_of", 7, "made by ingestion"),
        (5, "possibly_duplicated_by", 7, "made by ingestion"),
    ],
)
def test_refusals(ticket: int, kind: str, other: int, reason: str) -> None:
    with pytest.raises(LinkError, match=reason):
        stored(ticket, kind, other)


def test_seen_from_a_ticket_outside_the_link_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="not part of"):
        seen_from(StoredLink(1, 2, "related"), 3)


def test_a_cycle_is_a_directed_link_back_into_the_targets_ancestors() -> None:
    # 3's parent is 2, 2's parent is 1: ancestors of 3 (itself included) = {3, 2, 1}
    assert creates_cycle(StoredLink(1, 3, "parent"), {3, 2, 1})
    assert not creates_cycle(StoredLink(4, 3, "parent"), {3, 2, 1})
    assert creates_cycle(StoredLink(1, 3, "duplicate_of"), {3, 1})
    assert not creates_cycle(StoredLink(1, 3, "related"), {3, 1})  # symmetric: no direction


def test_audit_text_names_the_other_ticket_by_number() -> None:
    assert audit_text("child", 1042) == "child #1042"
