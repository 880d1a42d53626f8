"""What every SMS provider client offers, and the shapes of its answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

import httpx

from ..channel_accounts import ChannelAccount
from ..consuming import TransientError
from ..records import DeliveryState
from .accounts import SmsAccountConfig


class RetryLater(TransientError):
    """HTTP 429 with a ``Retry-After``: transient, and the provider said how long to wait."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds from now."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def rate_limit_error(provider: str, response: httpx.Response) -> TransientError:
    """A 429 answer: ``RetryLater`` when it says how long to wait."""
    seconds = retry_after_seconds(response.headers.get("retry-after"))
    text = f"{provider}: HTTP 429"
    return TransientError(text) if seconds is None else RetryLater(text, seconds)


class ProviderRefused(Exception):
    """The provider refused for good (invalid number, no funds, sender not approved,
    bad credentials): the text is the provider's own, shown on the failed delivery."""


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    segments: int
    """How many SMS the text went out as (the provider's count when it reports one)."""


@dataclass(frozen=True)
class Balance:
    amount: str
    currency: str | None = None


@dataclass(frozen=True)
class StatusReport:
    """A provider's delivery status: ``state`` None while still queued at the provider."""

    state: DeliveryState | None
    reason: str | None = None

    @property
    def final(self) -> bool:
        return self.state in (DeliveryState.DELIVERED, DeliveryState.READ, DeliveryState.FAILED)


class SmsProvider(Protocol):
    name: str
    polls_status: bool
    """True when the provider reports delivery only when asked (the notifier polls)."""
    supports_media: bool
    """True when it sends MMS (fetching ``media_urls``); others get the links in the text."""

    def __init__(
        self, config: SmsAccountConfig, account: ChannelAccount, timeout_seconds: float
    ) -> None: ...

    async def send(
        self, to: str, text: str, status_callback: str | None, media_urls: Sequence[str] = ()
    ) -> SendResult: ...

    async def status(self, provider_message_id: str, to: str) -> StatusReport: ...

    async def balance(self) -> Balance: ...

    async def aclose(self) -> None: ...


def checked(response: httpx.Response, provider: str) -> httpx.Response:
    """HTTP 429/5xx are transient; other non-2xx answers are the provider refusing."""
    if response.status_code == 429:
        raise rate_limit_error(provider, response)
    if response.status_code >= 500:
        raise TransientError(f"{provider}: HTTP {response.status_code}")
    if response.status_code in (401, 403):
        raise ProviderRefused(f"{provider}: HTTP {response.status_code} (check the credentials)")
    if response.status_code >= 400:
        raise ProviderRefused(f"{provider}: HTTP {response.status_code} {response.text[:200]}")
    return response


def json_of(response: httpx.Response, provider: str) -> dict[str, object]:
    try:
        value = response.json()
    except ValueError as exc:
        raise TransientError(f"{provider}: answer is not JSON") from exc
    if not isinstance(value, dict):
        raise TransientError(f"{provider}: answer is not a JSON object")
    return value


def network_error(provider: str, exc: httpx.HTTPError) -> TransientError:
    return TransientError(f"{provider}: {type(exc).__name__}")
