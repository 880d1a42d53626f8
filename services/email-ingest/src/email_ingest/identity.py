"""Who wrote, to whom, and which conversation a mail belongs to (from its headers)."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime

from .charsets import clean
from .mime import header_addresses

_MSGID = re.compile(r"<([^<>\s]{1,994})>")
_FORWARD = re.compile(
    r"^\s*(?:(?:re|aw|sv|ответ|отв)\s*:\s*)*(?:fwd?|fw|wg|tr|пересл|переслано)\s*:",
    re.IGNORECASE,
)


def sender_of(msg: Message, headers: Mapping[str, str]) -> tuple[str | None, str]:
    """``(address, display name)`` of the author: From, else Sender, else Return-Path."""
    for name in ("from", "sender"):
        pairs = header_addresses(msg, name)
        if pairs:
            display, address = pairs[0]
            return address, display
    return_path = clean(headers.get("return-path", "")).strip().strip("<>").lower()
    if "@" in return_path and " " not in return_path and len(return_path) <= 320:
        return return_path, ""
    return None, ""


def recipients_of(msg: Message, sender: str | None) -> tuple[str, ...]:
    """To and Cc addresses, lower case, in order, without duplicates or the sender."""
    seen: dict[str, None] = {}
    for name in ("to", "cc"):
        for _display, address in header_addresses(msg, name):
            if address != sender:
                seen.setdefault(address, None)
    return tuple(seen)


def message_ids(value: str) -> list[str]:
    """Every ``<id>`` in a header value, in order, without duplicates."""
    ids = dict.fromkeys(f"<{m}>" for m in _MSGID.findall(value))
    return list(ids)


def first_message_id(value: str) -> str | None:
    ids = message_ids(value)
    if ids:
        return ids[0]
    bare = value.strip()
    if bare and " " not in bare and "@" in bare and len(bare) <= 990:
        return f"<{bare}>"  # some mailers forget the angle brackets
    return None


@functools.lru_cache(maxsize=64)
def _token(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def ticket_number(subject: str, pattern: str) -> int | None:
    """The ticket number in our subject token, tolerant of reply prefixes, full-width
    characters and mangled spacing (``[ # 12345 ]``)."""
    if not subject:
        return None
    normal = unicodedata.normalize("NFKC", subject)
    match = _token(pattern).search(normal)
    if not match:
        return None
    try:
        return int(match.group(1))
    except (IndexError, ValueError, TypeError):
        return None


def sent_at(headers: Mapping[str, str]) -> datetime | None:
    value = clean(headers.get("date", "")).strip()
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def is_forward(subject: str) -> bool:
    return bool(_FORWARD.match(subject))
