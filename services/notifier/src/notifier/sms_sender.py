"""Replies and notifications by SMS through the account's provider (Twilio, SMSC.ru,
SMS.ru, SMSAero: ``helpdesk_common.sms_providers``).

The account is the outbound's own SMS account; when that is not an SMS account (a reply
by SMS on a ticket that came by email or phone) it is ``NOTIFIER_SMS_DEFAULT_ACCOUNT``,
or the only enabled SMS account. The number is normalised to E.164 with the account's
default country. A long text goes as one multipart (concatenated) SMS: the provider
splits it, and the segment count is recorded (``sms_log``). The provider's id is
recorded before returning, so a redelivered outbound is not sent twice, and mapped to our
outbound id for status callbacks, pushes and polling. Provider refusals become a failed
delivery with the provider's text; network errors, HTTP 429/5xx retry the batch.

Attachments go out as signed gateway links (``helpdesk_common.media_links``): as MMS media
where the provider sends MMS (Twilio fetches each link), otherwise as "name: link" lines
after the text. Without public media links configured an SMS with attachments fails (it
is never sent with its files silently dropped).
"""

from __future__ import annotations

import hashlib
import json
import time

from helpdesk_common.channel_accounts import ChannelAccount, ChannelAccountDirectory
from helpdesk_common.logs import get_logger
from helpdesk_common.media_links import MediaLinks
from helpdesk_common.phone_numbers import to_e164
from helpdesk_common.records import Channel, OutboundMessage
from helpdesk_common.sent_messages import SentMessage, SentMessageMap
from helpdesk_common.sms_providers import ProviderRefused, SmsProvider, make_provider
from helpdesk_common.sms_providers.base import RetryLater
from helpdesk_common.sms_providers.segments import encoding

from .messenger_parts import PartLog, rate_limited
from .rate_limits import Limit, RateLimiter
from .sending import Sent
from .settings import NotifierSettings
from .sms_log import PollEntry, SentSms, SmsLog
from .smtp_sender import PermanentSendError

log = get_logger(__name__)


def _fingerprint(account: ChannelAccount) -> str:
    secrets = {k: v.get_secret_value() for k, v in account.secrets.items()}
    data = json.dumps([account.config, secrets], sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()


def with_media(
    outbound: OutboundMessage, text: str, mms: bool, links: MediaLinks | None
) -> tuple[str, list[str]]:
    """(text, MMS media links) for an outbound's attachments: the signed links travel as
    MMS media, or as "name: link" lines after the text when the provider has no MMS."""
    blobs = [(a.filename or "file", a.blob) for a in outbound.attachments if a.blob]
    if not blobs:
        return text, []
    if links is None:
        raise PermanentSendError(
            "attachments by SMS need public media links (MEDIA_LINK_KEY and "
            "NOTIFIER_PUBLIC_MEDIA_BASE_URL)"
        )
    urls = [(name, links.url(blob.sha256, name)) for name, blob in blobs]
    if mms:
        return text, [url for _, url in urls]
    return "\n".join([text, *(f"{name}: {url}" for name, url in urls)]), []


class SmsProviders:
    """One provider client per account, rebuilt when the account's settings change."""

    def __init__(self, timeout_seconds: float) -> None:
        self._timeout = timeout_seconds
        self._clients: dict[str, tuple[str, SmsProvider]] = {}

    async def for_account(self, account: ChannelAccount) -> SmsProvider:
        fingerprint = _fingerprint(account)
        cached = self._clients.get(account.name)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        if cached is not None:
            await cached[1].aclose()
        provider = make_provider(account, self._timeout)
        self._clients[account.name] = (fingerprint, provider)
        return provider

    async def aclose(self) -> None:
        for _, provider in self._clients.values():
            await provider.aclose()
        self._clients.clear()


class SmsChannel:
    def __init__(
        self,
        settings: NotifierSettings,
        accounts: ChannelAccountDirectory,
        providers: SmsProviders,
        parts: PartLog,
        sent: SentMessageMap,
        sms_log: SmsLog,
        links: MediaLinks | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._limiter = limiter
        self._settings = settings
        self._links = links
        self._accounts = accounts
        self._providers = providers
        self._parts = parts
        self._sent = sent
        self._log = sms_log

    async def _enabled(self, name: str) -> ChannelAccount | None:
        account = await self._accounts.get_enabled(Channel.SMS, name)
        if account is None:  # a cached "unknown" may be seconds old: ask once more, fresh
            self._accounts.forget(Channel.SMS, name)
            account = await self._accounts.get_enabled(Channel.SMS, name)
        return account

    async def account_for(self, name: str) -> ChannelAccount:
        account = await self._enabled(name)
        if account is not None:
            return account
        default = self._settings.sms_default_account
        if default:
            account = await self._enabled(default)
        else:
            enabled = [a for a in await self._accounts.list_accounts(Channel.SMS) if a.enabled]
            account = enabled[0] if len(enabled) == 1 else None
        if account is None:
            raise PermanentSendError(f"no enabled sms account {name!r} and no default one")
        return account

    def limit(self, account: ChannelAccount) -> Limit:
        """The account's ``rate_per_second`` (config), else ``NOTIFIER_SMS_RATE_PER_SECOND``."""
        try:
            rate = float(account.config.get("rate_per_second") or self._settings.sms_rate)
        except (TypeError, ValueError):
            rate = self._settings.sms_rate
        rate = rate if rate > 0 else self._settings.sms_rate
        return Limit(f"sms:{account.name}", rate, max(1.0, rate))

    def _callback(self, account: ChannelAccount) -> str | None:
        base = self._settings.public_webhook_base_url
        if not base or account.config.get("provider") != "twilio":
            return None
        return f"{base.rstrip('/')}/webhooks/sms/{account.name}/status"

    async def __call__(self, outbound: OutboundMessage) -> Sent | str:
        done = await self._parts.sent(outbound.outbound_id)
        if 0 in done:
            return done[0]  # sent before a crash or a lost report: never twice
        account = await self.account_for(outbound.channel_account)
        country = str(account.config.get("default_country") or "RU")
        to = to_e164(outbound.recipient, country)
        if to is None:
            raise PermanentSendError(f"not a phone number: {outbound.recipient!r}")
        text = outbound.text.strip()
        if not text:
            raise PermanentSendError("the SMS text is empty")
        if self._limiter is not None:
            await self._limiter.acquire([self.limit(account)])
        try:
            provider = await self._providers.for_account(account)
            text, media = with_media(outbound, text, provider.supports_media, self._links)
            result = await provider.send(to, text, self._callback(account), media)
        except ProviderRefused as exc:
            raise PermanentSendError(str(exc)) from exc
        except RetryLater as exc:
            # 429 with Retry-After: wait as asked (bounded), then the batch retries
            await rate_limited(
                provider.name, exc.retry_after, self._settings.max_retry_wait_seconds
            )
        pid = result.provider_message_id
        await self._parts.record(outbound.outbound_id, 0, pid)
        link = SentMessage(outbound.outbound_id, outbound.message_id)
        await self._sent.remember(Channel.SMS, account.name, pid, link)
        sms = SentSms(
            outbound.outbound_id,
            outbound.message_id,
            account.name,
            provider.name,
            pid,
            to,
            result.segments,
            encoding(text),
        )
        await self._log.record(sms)
        if provider.polls_status:
            entry = PollEntry(
                outbound.outbound_id, outbound.message_id, account.name, pid, to, time.time()
            )
            await self._log.schedule(entry, time.time() + self._settings.sms_poll_interval_seconds)
        log.info("sms_sent", provider=provider.name, account=account.name, segments=result.segments)
        return Sent(pid, {"sms_segments": str(result.segments), "sms_encoding": sms.encoding})
