"""SMS gateways behind one small interface: send, delivery status, balance.

Twilio (through the ``twilio`` package with an httpx-based HTTP client, so its fixed
host can be rebased), SMSC.ru, SMS.ru and SMSAero (httpx against their HTTP APIs). The
notifier sends and polls through them; ticket-core's "test connection" asks for the
balance. Which provider an SMS channel account uses, and its credentials, live in the
account (``accounts.SmsAccountConfig``); ``make_provider`` builds the client.

Errors: ``TransientError`` (network, timeouts, HTTP 429/5xx, "service unavailable"
codes: retry later) or ``ProviderRefused`` (invalid number, no funds, sender not
approved, bad credentials: a failed delivery with the provider's text).
"""

from __future__ import annotations

from ..channel_accounts import ChannelAccount
from .accounts import Provider, SmsAccountConfig
from .base import Balance, ProviderRefused, SendResult, SmsProvider, StatusReport
from .smsaero import SmsAeroProvider
from .smsc import SmscProvider
from .smsru import SmsRuProvider
from .twilio_provider import TwilioProvider

__all__ = [
    "Balance",
    "ProviderRefused",
    "SendResult",
    "SmsAccountConfig",
    "SmsProvider",
    "StatusReport",
    "make_provider",
]


def make_provider(account: ChannelAccount, timeout_seconds: float = 15.0) -> SmsProvider:
    """The client for an SMS channel account (raises ``ProviderRefused`` when misconfigured)."""
    try:
        config = SmsAccountConfig.model_validate(account.config)
    except ValueError as exc:
        raise ProviderRefused(f"sms account {account.name!r} is misconfigured") from exc
    kinds: dict[Provider, type[SmsProvider]] = {
        "twilio": TwilioProvider,
        "smsc": SmscProvider,
        "smsru": SmsRuProvider,
        "smsaero": SmsAeroProvider,
    }
    return kinds[config.provider](config, account, timeout_seconds)
