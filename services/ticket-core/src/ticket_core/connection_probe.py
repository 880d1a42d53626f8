""" "Test connection" for channel accounts: contact the provider, report its answer.

Pure async functions taking an account's config and secrets: nothing is stored, nothing
raised. Each answers a ``ProbeResult`` with the provider's own words on failure (wrong
password, invalid token, unreachable within the timeout). Messages never carry a secret.

- email: IMAP connect (TLS / STARTTLS / plain as configured), LOGIN, SELECT the folder;
  ``probe_smtp`` (EHLO, STARTTLS, AUTH) for an SMTP server;
- Telegram ``getMe``, Viber ``get_account_info``, VK ``groups.getById``;
- SMS: the provider's balance (``sms_api.check_connection``, the notifier's clients);
- phone: Simple Calls: open the connector's WebSocket (URL and CID authentication from
  ``helpdesk_common.phone_accounts``) and report the server's refusal (close code 4008,
  HTTP status) or its acceptance; a PBX webhook account has nothing to connect to: the
  answer is the gateway URL to configure at the PBX.

This module picks the probe for an account's channel (``probe_account``); the probes
are in ``probe_email``, ``probe_messengers`` and ``probe_phone``, their answer and
shared helpers in ``probe_result``.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk_common.channel_accounts import TOKEN, ChannelAccount
from helpdesk_common.email_accounts import PASSWORD, InvalidEmailAccount
from helpdesk_common.email_accounts import check_email_account as imap_settings_of
from helpdesk_common.records import Channel

from .probe_email import probe_imap
from .probe_messengers import probe_telegram, probe_viber, probe_vk
from .probe_phone import probe_phone
from .probe_result import ProbeResult


@dataclass(frozen=True)
class ProviderUrls:
    """Where the messenger APIs are (a local fake in tests)."""

    telegram: str = "https://api.telegram.org"
    viber: str = "https://chatapi.viber.com/pa"
    vk: str = "https://api.vk.ru"
    gateway: str | None = None  # the gateway's public URL, for the PBX webhook address


async def probe_sms(account: ChannelAccount, timeout: float = 5.0) -> ProbeResult:
    from .sms_api import check_connection  # the balance call the REST test uses

    result = await check_connection(account, timeout)
    if not result.ok:
        return ProbeResult(False, f"{result.provider or 'SMS'}: {result.error}")
    currency = f" {result.currency}" if result.currency else ""
    return ProbeResult(True, f"{result.provider}: balance {result.balance}{currency}")


# --- one account --------------------------------------------------------------------------


async def probe_account(
    account: ChannelAccount, urls: ProviderUrls, timeout: float = 5.0
) -> ProbeResult:
    """The test for this account's channel; never raises."""
    try:
        secrets = {k: v.get_secret_value() for k, v in account.secrets.items()}
        if account.channel is Channel.EMAIL:
            try:
                settings = imap_settings_of(account.name, account.config, secrets)
            except InvalidEmailAccount as exc:
                return ProbeResult(False, str(exc))
            return await probe_imap(settings, secrets.get(PASSWORD, ""), timeout)
        if account.channel is Channel.TELEGRAM:
            return await probe_telegram(urls.telegram, secrets.get(TOKEN, ""), timeout)
        if account.channel is Channel.VIBER:
            return await probe_viber(urls.viber, secrets.get(TOKEN, ""), timeout)
        if account.channel is Channel.VK:
            group = account.config.get("group_id")
            return await probe_vk(
                urls.vk, secrets.get(TOKEN, ""), str(group) if group else None, timeout
            )
        if account.channel is Channel.SMS:
            return await probe_sms(account, timeout)
        if account.channel is Channel.PHONE:
            return await probe_phone(account.name, account.config, secrets, urls.gateway, timeout)
    except Exception as exc:
        return ProbeResult(False, f"the test failed: {type(exc).__name__}")
    return ProbeResult(False, f"no connection test for {account.channel.value} accounts")
