"""What a raw messenger event means, decided by a pure parser (no network, no state).

A parser turns a ``RawWebhook`` into exactly one outcome, or raises
``UnsupportedPayload`` (the batch machinery parks the record in the dead-letter topic
with that reason). Fetching media, resolving album parts and looking up our outbound ids
happen afterwards, in ``messenger.MessengerHandler``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from helpdesk_common.records import Channel, DeliveryState, InboundMessage, RawWebhook


class UnsupportedPayload(ValueError):
    """The body is not an event of a shape we know: dead-lettered with this reason."""


class MediaSource(StrEnum):
    TELEGRAM_FILE = "telegram_file"  # a file_id: getFile, then download
    URL = "url"  # a direct link (Viber media, VK attachments)


@dataclass(frozen=True)
class MediaRef:
    source: MediaSource
    ref: str
    filename: str
    content_type: str = "application/octet-stream"
    size: int | None = None


@dataclass(frozen=True)
class Inbound:
    message: InboundMessage
    media: tuple[MediaRef, ...] = ()
    album: str | None = None
    """Key of the multi-part message (Telegram album) this message is a part of."""


@dataclass(frozen=True)
class Receipt:
    """The provider reports on a message we sent (matched by its provider message id)."""

    channel: Channel
    account: str
    provider_message_id: str
    state: DeliveryState
    occurred_at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class Reachability:
    """Whether we may write to this user on this account (subscribed, blocked, ...)."""

    channel: Channel
    account: str
    user_id: str
    reachable: bool
    reason: str
    at: datetime


@dataclass(frozen=True)
class Ignored:
    reason: str


Outcome = Inbound | Receipt | Reachability | Ignored
Parser = Callable[[RawWebhook], Outcome]


def strict(parse: Parser) -> Parser:
    """Hold a parser to its contract: an outcome, or ``UnsupportedPayload``.

    Parsers are pure (no I/O), so whatever else they raise comes from the payload too: a
    field of the wrong type, or a timestamp the platform cannot represent, for which
    ``datetime.fromtimestamp`` raises ``OSError``. Such an error must not pass for an
    infrastructure failure (OSError is transient): the batch would be rewound forever
    and the account's raw partition would never move on.
    """

    @functools.wraps(parse)
    def parse_strictly(raw: RawWebhook) -> Outcome:
        try:
            return parse(raw)
        except UnsupportedPayload:
            raise
        except Exception as exc:
            raise UnsupportedPayload(
                f"{raw.channel.value} payload not understood: {type(exc).__name__}: {exc}"
            ) from exc

    return parse_strictly


def json_object(raw: RawWebhook) -> dict[str, Any]:
    try:
        value = json.loads(raw.body)
    except ValueError as exc:
        raise UnsupportedPayload(f"{raw.channel.value} body is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise UnsupportedPayload(f"{raw.channel.value} body is not a JSON object")
    return value


def from_unix(seconds: float | None, fallback: datetime) -> datetime:
    return datetime.fromtimestamp(seconds, UTC) if seconds else fallback


def e164(phone: str | None) -> str | None:
    """Telegram sends numbers with or without '+'; keep '+' and digits."""
    if not phone:
        return None
    digits = "".join(c for c in phone if c.isdigit())
    return f"+{digits}" if digits else None
