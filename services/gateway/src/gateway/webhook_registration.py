"""Registering our webhook URL with Telegram (``setWebhook``) and Viber (``set_webhook``).

Uses the production clients (python-telegram-bot, httpx) against configurable base URLs,
so the same code registers with the real providers or with local fakes.
"""

from __future__ import annotations

import httpx
from helpdesk_common.channel_accounts import TOKEN, WEBHOOK_SECRET, ChannelAccount
from helpdesk_common.records import Channel
from telegram import Bot
from telegram.error import TelegramError

TELEGRAM_UPDATES = ("message", "edited_message", "my_chat_member")
VIBER_EVENTS = (
    "delivered",
    "seen",
    "failed",
    "subscribed",
    "unsubscribed",
    "conversation_started",
)


class RegistrationError(RuntimeError):
    pass


def webhook_url(public_base_url: str, account: ChannelAccount) -> str:
    return f"{public_base_url.rstrip('/')}/webhooks/{account.channel.value}/{account.name}"


async def register_telegram(
    account: ChannelAccount, url: str, api_base_url: str, *, drop_pending: bool = False
) -> None:
    bot = Bot(
        account.require_secret(TOKEN),
        base_url=f"{api_base_url.rstrip('/')}/bot",
        base_file_url=f"{api_base_url.rstrip('/')}/file/bot",
    )
    try:
        async with bot:
            await bot.set_webhook(
                url=url,
                secret_token=account.require_secret(WEBHOOK_SECRET),
                allowed_updates=list(TELEGRAM_UPDATES),
                drop_pending_updates=drop_pending,
            )
    except TelegramError as exc:
        raise RegistrationError(f"telegram setWebhook failed: {exc.message}") from exc


async def register_viber(account: ChannelAccount, url: str, api_base_url: str) -> None:
    payload = {
        "url": url,
        "event_types": list(VIBER_EVENTS),
        "send_name": True,
        "send_photo": False,
    }
    headers = {"X-Viber-Auth-Token": account.require_secret(TOKEN)}
    async with httpx.AsyncClient(timeout=30.0) as client:
        try:
            response = await client.post(
                f"{api_base_url.rstrip('/')}/set_webhook", json=payload, headers=headers
            )
        except httpx.HTTPError as exc:
            raise RegistrationError(f"viber set_webhook failed: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise RegistrationError(f"viber set_webhook answered HTTP {response.status_code}")
    answer = response.json()
    if answer.get("status") != 0:
        raise RegistrationError(
            f"viber set_webhook failed: {answer.get('status')} {answer.get('status_message')}"
        )


async def register(
    account: ChannelAccount,
    public_base_url: str,
    *,
    telegram_api_base_url: str,
    viber_api_base_url: str,
    drop_pending: bool = False,
) -> str:
    """Register the account's webhook; returns the URL registered."""
    url = webhook_url(public_base_url, account)
    if account.channel is Channel.TELEGRAM:
        await register_telegram(account, url, telegram_api_base_url, drop_pending=drop_pending)
    elif account.channel is Channel.VIBER:
        await register_viber(account, url, viber_api_base_url)
    else:
        raise RegistrationError(
            f"{account.channel.value}: register the callback server in the community settings"
        )
    return url
