"""Phone numbers: E.164 normalisation with an account's default country, and matching.

``to_e164`` turns what a provider or a PBX sends (``+7 343 011-22-33``, ``8 343 0112233``,
``73430112233``) into ``+73430112233`` using Google's libphonenumber rules (the
``phonenumbers`` package); national formats need the account's default country.
``last_digits`` is how telephony matches callers whose numbers are stored in another
format: the last N digits (10 by default) of both sides.
"""

from __future__ import annotations

import phonenumbers

DEFAULT_MATCH_DIGITS = 10


def to_e164(raw: str | None, default_country: str | None = None) -> str | None:
    """The E.164 form of ``raw`` or None when it is not a possible phone number.

    A number without ``+`` is read in ``default_country`` (ISO 3166 alpha-2, e.g. "RU");
    when that fails it is tried as an international number without the ``+``.
    """
    if not raw:
        return None
    text = raw.strip()
    if not any(c.isdigit() for c in text):
        return None
    region = (default_country or "").upper() or None
    candidates = [text] if text.startswith("+") else [text, "+" + digits(text)]
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, None if candidate.startswith("+") else region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def last_digits(value: str, count: int = DEFAULT_MATCH_DIGITS) -> str:
    """The last ``count`` digits of ``value`` (all of them when it has fewer)."""
    only = digits(value)
    return only[-count:] if count > 0 else only


def same_number(a: str, b: str, count: int = DEFAULT_MATCH_DIGITS) -> bool:
    left, right = last_digits(a, count), last_digits(b, count)
    return bool(left) and left == right
