"""Contact merge and deletion rules, pure: the card fields the target takes, refusals,
and the audit snapshot."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ticket_core.contact_merge_rules import (
    MergeConflict,
    MergeError,
    check_pair,
    deletion_refusal,
    filled_card,
    portal_conflict,
    snapshot,
)

SOURCE = {
    "display_name": "Ann",
    "email": "ann@old.example",
    "phone": "+79120000000",
    "company_id": 3,
    "manager_agent_id": 9,
    "default_observer_agent_ids": [4, 5],
}


def test_the_target_takes_only_the_fields_it_lacks() -> None:
    target = {
        "display_name": "  ",
        "email": "ann@new.example",
        "phone": None,
        "company_id": 7,
        "manager_agent_id": None,
        "default_observer_agent_ids": [],
    }
    assert filled_card(SOURCE, target) == {
        "display_name": "Ann",
        "phone": "+79120000000",
        "manager_agent_id": 9,
        "default_observer_agent_ids": [4, 5],
    }
    assert filled_card(SOURCE, SOURCE) == {}
    empty = dict.fromkeys(SOURCE) | {"default_observer_agent_ids": []}
    assert filled_card(empty, target) == {}  # nothing to give


def test_refusals() -> None:
    with pytest.raises(MergeError, match="into itself"):
        check_pair(5, 5)
    check_pair(5, 6)
    with pytest.raises(MergeConflict, match="both have a portal account"):
        portal_conflict(5, 6, True, True)
    for source_has, target_has in ((True, False), (False, True), (False, False)):
        portal_conflict(5, 6, source_has, target_has)


def test_deletion_is_refused_with_the_count_and_the_way_out() -> None:
    assert deletion_refusal(5, 0, 0) is None
    one = deletion_refusal(5, 1, 3)
    assert one is not None and "has 1 ticket:" in one and "/contacts/5/merge-into/" in one
    many = deletion_refusal(5, 12, 0)
    assert many is not None and "has 12 tickets" in many
    wrote = deletion_refusal(5, 0, 2)
    assert wrote is not None and "wrote 2 messages" in wrote and "merge-into" in wrote


def test_the_snapshot_keeps_the_card_and_what_moved() -> None:
    at = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    kept = snapshot(
        SOURCE | {"created_at": at},
        [("email", "ann@old.example"), ("telegram", "42")],
        ticket_ids=[8, 3],
        portal_login="ann@old.example",
        filled=["phone"],
    )
    assert kept == {
        "name": "Ann",
        "email": "ann@old.example",
        "phone": "+79120000000",
        "company_id": 3,
        "manager_agent_id": 9,
        "default_observer_agent_ids": [4, 5],
        "created_at": "2026-11-26T12:00:00+00:00",
        "identities": [["email", "ann@old.example"], ["telegram", "42"]],
        "ticket_ids": [3, 8],
        "portal_login": "ann@old.example",
        "filled_on_target": ["phone"],
    }
