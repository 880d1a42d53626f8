"""Contact identities, pure: normalising emails and phones, and which value is primary.

``contacts.email``/``contacts.phone`` hold the contact's primary address and number (what
ingestion fills when empty, what replies and the portal use); ``contact_identities`` holds
every address and number the contact is known by (what ingestion matches senders on).
The primary value is always one of the identities: adding one to a contact without a
primary makes it the primary; removing the primary promotes the oldest remaining one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from helpdesk_common.phone_numbers import to_e164

from .org import OrgError, normalise_email

IdentityKind = Literal["email", "phone"]
# Channel identities recorded by ingestion with the same value as an email / a phone
# (a web-form sender is known by its address, an SMS sender by its number).
SAME_VALUE_KINDS: dict[str, tuple[str, ...]] = {
    "email": ("email", "webform"),
    "phone": ("phone", "sms"),
}


class ContactError(ValueError):
    """Input the contact rules refuse (the API answers 422)."""


def normalise_phone(raw: str, default_country: str) -> str:
    number = to_e164(raw, default_country)
    if number is None:
        raise ContactError(f"{raw!r} is not a phone number")
    return number


def normalise(kind: str, raw: str, default_country: str) -> str:
    if kind == "email":
        try:
            return normalise_email(raw)
        except OrgError as exc:
            raise ContactError(str(exc)) from exc
    if kind == "phone":
        return normalise_phone(raw, default_country)
    raise ContactError(f"kind must be email or phone, not {kind!r}")


def lookup_value(kind: str, raw: str, default_country: str) -> str:
    """A value as stored for ``kind``, for finding it (lenient: never refuses)."""
    if kind in ("email", "webform"):
        return raw.strip().lower()
    if kind in ("phone", "sms"):
        return to_e164(raw, default_country) or raw.strip()
    return raw


def same(kind: str, a: str | None, b: str) -> bool:
    if a is None:
        return False
    return a.strip().lower() == b.lower() if kind == "email" else a.strip() == b


def primary_after_removal(
    kind: str, primary: str | None, removed: str, remaining: Sequence[str]
) -> str | None:
    """The primary value once ``removed`` is gone; ``remaining``: the contact's other
    values of the kind, oldest first."""
    if not same(kind, primary, removed):
        return primary
    return next(iter(remaining), None)


def unique_values(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))
