"""Replies on Telegram through python-telegram-bot (base URL configurable).

Text goes out with sendMessage, split at 4096 characters on paragraph boundaries; then
each attachment with sendPhoto (images up to 10 MB) or sendDocument. Errors: 429 (with
``retry_after``), 5xx, timeouts and network errors are transient; the bot blocked by the
user (403), chat not found and other 400s, or a revoked token are permanent.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from helpdesk_common.blobstore import BlobStore
from helpdesk_common.channel_accounts import TOKEN, ChannelAccountDirectory
from helpdesk_common.consuming import TransientError
from helpdesk_common.records import AttachmentRef, Channel, OutboundMessage
from helpdesk_common.sent_messages import SentMessage, SentMessageMap
from telegram import Bot, Message
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from .messenger_parts import PartLog, rate_limited, split_text
from .rate_limits import Limit, RateLimiter
from .settings import NotifierSettings
from .smtp_sender import PermanentSendError

TEXT_LIMIT = 4096
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
PHOTO_MAX_BYTES = 10 * 1024 * 1024

Part = str | AttachmentRef


class TelegramChannel:
    def __init__(
        self,
        settings: NotifierSettings,
        accounts: ChannelAccountDirectory,
        blobs: BlobStore,
        parts: PartLog,
        sent: SentMessageMap,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._settings = settings
        self._accounts = accounts
        self._blobs = blobs
        self._parts = parts
        self._sent = sent
        self._limiter = limiter
        self._bots: dict[str, Bot] = {}

    def _limits(self, account: str, chat_id: str) -> list[Limit]:
        """Telegram's limits: about one message a second per chat, 30 a second per bot."""
        s = self._settings
        return [
            Limit(
                f"telegram:{account}:chat:{chat_id}", s.telegram_chat_rate, s.telegram_chat_burst
            ),
            Limit(f"telegram:{account}", s.telegram_global_rate, s.telegram_global_rate),
        ]

    def _bot(self, token: str) -> Bot:
        bot = self._bots.get(token)
        if bot is None:
            base = self._settings.telegram_api_base_url.rstrip("/")
            timeout = self._settings.provider_timeout_seconds
            request = HTTPXRequest(
                connection_pool_size=8, read_timeout=timeout, write_timeout=timeout
            )
            bot = Bot(
                token,
                base_url=f"{base}/bot",
                base_file_url=f"{base}/file/bot",
                request=request,
                get_updates_request=request,
            )
            self._bots[token] = bot
        return bot

    async def _call(self, call: Awaitable[Message]) -> Message:
        try:
            return await call
        except RetryAfter as exc:
            await rate_limited("telegram", exc.retry_after, self._settings.max_retry_wait_seconds)
            raise  # unreachable: rate_limited raises
        except BadRequest as exc:  # a NetworkError subclass: decided first (chat not found)
            raise PermanentSendError(f"telegram: {exc.message}") from exc
        except NetworkError as exc:  # 5xx, timeouts, connection errors
            raise TransientError(f"telegram: {type(exc).__name__}: {exc.message}") from exc
        except TelegramError as exc:  # 403 bot blocked, 401/404 token revoked, ...
            raise PermanentSendError(f"telegram: {exc.message}") from exc

    async def _send_part(self, bot: Bot, chat_id: str, part: Part) -> Message:
        if isinstance(part, str):
            return await self._call(bot.send_message(chat_id=chat_id, text=part))
        assert part.blob is not None
        data = await self._blobs.get(part.blob.sha256)
        kwargs: dict[str, Any] = {"chat_id": chat_id, "filename": part.filename or "file"}
        if part.content_type in PHOTO_TYPES and len(data) <= PHOTO_MAX_BYTES:
            return await self._call(bot.send_photo(photo=data, **kwargs))
        return await self._call(bot.send_document(document=data, **kwargs))

    async def __call__(self, outbound: OutboundMessage) -> str | None:
        account = await self._accounts.get_enabled(Channel.TELEGRAM, outbound.channel_account)
        if account is None or not account.secret(TOKEN):
            raise PermanentSendError(f"no enabled telegram account {outbound.channel_account!r}")
        bot = self._bot(account.require_secret(TOKEN))
        parts: list[Part] = [
            *split_text(outbound.text, TEXT_LIMIT),
            *(a for a in outbound.attachments if a.blob is not None),
        ]
        done = await self._parts.sent(outbound.outbound_id)
        for index, part in enumerate(parts):
            if index in done:
                continue
            if self._limiter is not None:
                await self._limiter.acquire(self._limits(account.name, outbound.recipient))
            message = await self._send_part(bot, outbound.recipient, part)
            provider_id = f"{message.chat_id}:{message.message_id}"
            done[index] = provider_id
            await self._parts.record(outbound.outbound_id, index, provider_id)
            await self._sent.remember(
                Channel.TELEGRAM,
                account.name,
                provider_id,
                SentMessage(outbound.outbound_id, outbound.message_id),
            )
        return done.get(0)

    async def aclose(self) -> None:
        for bot in self._bots.values():
            await bot.shutdown()
