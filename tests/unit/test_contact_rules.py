"""Contact identity rules, pure: normalising emails and phones, the primary value."""

from __future__ import annotations

import pytest
from ticket_core.contact_rules import (
    ContactError,
    lookup_value,
    normalise,
    primary_after_removal,
    same,
)


def test_emails_are_lower_cased_and_checked() -> None:
    assert normalise("email", "  Ann.Lee@Example.ORG ", "RU") == "ann.lee@example.org"
    for bad in ("ann", "ann@", "a b@example.org", "@example.org"):
        with pytest.raises(ContactError, match="not an email address"):
            normalise("email", bad, "RU")


def test_phones_become_e164_in_the_default_country() -> None:
    assert normalise("phone", "8 (343) 011-22-33", "RU") == "+73430112233"
    assert normalise("phone", "+1 415 555 2671", "RU") == "+14155552671"
    assert normalise("phone", "030 1234567", "DE") == "+49301234567"
    for bad in ("call me", "12", ""):
        with pytest.raises(ContactError, match="not a phone number"):
            normalise("phone", bad, "RU")
    with pytest.raises(ContactError, match="email or phone"):
        normalise("fax", "1", "RU")


def test_lookup_values_never_refuse() -> None:
    assert lookup_value("email", " A@B.C ", "RU") == "a@b.c"
    assert lookup_value("phone", "8 343 0112233", "RU") == "+73430112233"
    assert lookup_value("phone", "junk", "RU") == "junk"
    assert lookup_value("telegram", "AbC", "RU") == "AbC"  # messenger ids keep their case


def test_the_primary_follows_removals() -> None:
    assert same("email", "Ann@Example.org", "ann@example.org")
    assert not same("phone", None, "+7")
    keep = primary_after_removal("email", "a@x.org", "b@x.org", ["a@x.org"])
    assert keep == "a@x.org"
    assert primary_after_removal("email", "A@x.org", "a@x.org", ["b@x.org", "c@x.org"]) == "b@x.org"
    assert primary_after_removal("phone", "+7912", "+7912", []) is None
