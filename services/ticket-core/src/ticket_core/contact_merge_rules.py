"""Merging and deleting contacts, pure: what the target takes from the source, when a
deletion is refused, and what the audit keeps of a contact that is gone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Card fields the target takes from the source when it has none itself.
CARD_FIELDS = (
    "display_name",
    "email",
    "phone",
    "company_id",
    "manager_agent_id",
    "default_observer_agent_ids",
)


class MergeError(ValueError):
    """A merge the rules refuse (422)."""


class MergeConflict(ValueError):
    """A merge or deletion the data refuses (409)."""


def check_pair(source_id: int, target_id: int) -> None:
    if source_id == target_id:
        raise MergeError("a contact cannot be merged into itself")


def filled_card(source: Mapping[str, Any], target: Mapping[str, Any]) -> dict[str, Any]:
    """The target's empty card fields that the source has (never overwrites)."""
    return {
        name: source[name]
        for name in CARD_FIELDS
        if _empty(target.get(name)) and not _empty(source.get(name))
    }


def _empty(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple):
        return not value
    return value is None


def portal_conflict(source_id: int, target_id: int, source_has: bool, target_has: bool) -> None:
    if source_has and target_has:
        raise MergeConflict(
            f"contacts {source_id} and {target_id} both have a portal account, and a contact "
            "has one portal login: these contacts cannot be merged"
        )


def deletion_refusal(contact_id: int, tickets: int, messages: int) -> str | None:
    """Why the contact may not be deleted (None: it may)."""
    if tickets:
        noun = "ticket" if tickets == 1 else "tickets"
        return (
            f"contact {contact_id} has {tickets} {noun}: merge it into another contact "
            f"instead (POST /api/v1/contacts/{contact_id}/merge-into/{{target_id}})"
        )
    if messages:
        noun = "message" if messages == 1 else "messages"
        return (
            f"contact {contact_id} wrote {messages} {noun} on other contacts' tickets: merge "
            f"it into another contact instead (POST /api/v1/contacts/{contact_id}/merge-into/"
            "{target_id})"
        )
    return None


def snapshot(
    contact: Mapping[str, Any],
    identities: Sequence[tuple[str, str]],
    *,
    ticket_ids: Sequence[int] = (),
    portal_login: str | None = None,
    filled: Sequence[str] = (),
) -> dict[str, Any]:
    """What ``contact_audit.snapshot`` keeps (JSON)."""
    created = contact.get("created_at")
    return {
        "name": contact.get("display_name") or "",
        "email": contact.get("email"),
        "phone": contact.get("phone"),
        "company_id": contact.get("company_id"),
        "manager_agent_id": contact.get("manager_agent_id"),
        "default_observer_agent_ids": list(contact.get("default_observer_agent_ids") or []),
        "created_at": created.isoformat() if created is not None else None,
        "identities": [[kind, value] for kind, value in identities],
        "ticket_ids": sorted(ticket_ids),
        "portal_login": portal_login,
        "filled_on_target": list(filled),
    }
