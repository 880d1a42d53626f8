"""Media of inbound messages into the blob store.

Telegram files are fetched with ``getFile`` + download (python-telegram-bot, base URLs
configurable); Viber and VK send direct links (fetched with httpx, size-capped).
An unreachable provider is transient (the batch is retried); a file the provider refuses
or one over the size cap is recorded as an attachment with ``skipped_reason``, so the
message itself is never lost. A file that stays unreachable for longer than the give-up
delay after the webhook arrived is recorded as skipped too, so one dead link cannot hold
its partition back forever.
"""

from __future__ import annotations

from datetime import datetime

import httpx
from helpdesk_common.blobstore import BlobStore
from helpdesk_common.channel_accounts import TOKEN, ChannelAccountDirectory
from helpdesk_common.consuming import TransientError
from helpdesk_common.logs import get_logger
from helpdesk_common.records import AttachmentRef, Channel, utcnow
from telegram import Bot
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from .outcomes import MediaRef, MediaSource

log = get_logger(__name__)


class _Skip(Exception):
    """The file cannot be had (refused, too big): recorded, not retried."""


def skip_after_deadline(
    error: TransientError, skipped: AttachmentRef, received_at: datetime, give_up_after: float
) -> AttachmentRef:
    """``skipped`` with the error as its reason once the give-up delay since the webhook
    arrived has passed; before that, ``error`` is raised again (the batch is retried)."""
    waited = (utcnow() - received_at).total_seconds()
    if waited < give_up_after:
        raise error
    log.warning("media_given_up", waited_seconds=int(waited), reason=str(error))
    reason = f"unavailable for {int(waited)} s: {error}"
    return skipped.model_copy(update={"skipped_reason": reason[:500]})


class MediaFetcher:
    def __init__(
        self,
        blobs: BlobStore,
        accounts: ChannelAccountDirectory,
        *,
        telegram_api_base_url: str,
        max_bytes: int,
        timeout_seconds: float = 30.0,
        give_up_after_seconds: float = 900.0,
    ) -> None:
        self._blobs = blobs
        self._give_up_after = give_up_after_seconds
        self._accounts = accounts
        self._telegram_base = telegram_api_base_url.rstrip("/")
        self._max = max_bytes
        self._timeout = timeout_seconds
        self._http = httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=True)
        self._bots: dict[str, Bot] = {}

    async def fetch(
        self, channel: Channel, account: str, ref: MediaRef, received_at: datetime | None = None
    ) -> AttachmentRef:
        skipped = AttachmentRef(
            filename=ref.filename, content_type=ref.content_type, size=ref.size or 0
        )
        if ref.size is not None and ref.size > self._max:
            return skipped.model_copy(update={"skipped_reason": f"larger than {self._max} bytes"})
        try:
            if ref.source is MediaSource.TELEGRAM_FILE:
                data = await self._telegram(account, ref.ref)
            else:
                data = await self._download(ref.ref)
        except _Skip as exc:
            log.warning("media_skipped", channel=channel.value, reason=str(exc))
            return skipped.model_copy(update={"skipped_reason": str(exc)[:500]})
        except TransientError as exc:
            return skip_after_deadline(exc, skipped, received_at or utcnow(), self._give_up_after)
        blob = await self._blobs.put(data, ref.content_type)
        return AttachmentRef(
            filename=ref.filename, content_type=ref.content_type, size=len(data), blob=blob
        )

    async def _bot(self, account: str) -> Bot:
        found = await self._accounts.get(Channel.TELEGRAM, account)
        token = found.secret(TOKEN) if found else None
        if not token:
            raise _Skip(f"no telegram account {account!r} with a token")
        bot = self._bots.get(token)
        if bot is None:
            request = HTTPXRequest(connection_pool_size=4, read_timeout=self._timeout)
            bot = Bot(
                token,
                base_url=f"{self._telegram_base}/bot",
                base_file_url=f"{self._telegram_base}/file/bot",
                request=request,
                get_updates_request=request,
            )
            self._bots[token] = bot
        return bot

    async def _telegram(self, account: str, file_id: str) -> bytes:
        bot = await self._bot(account)
        try:
            file = await bot.get_file(file_id)
            if file.file_size is not None and file.file_size > self._max:
                raise _Skip(f"larger than {self._max} bytes")
            return bytes(await file.download_as_bytearray())
        except (RetryAfter, BadRequest) as exc:
            if isinstance(exc, RetryAfter):
                raise TransientError(f"telegram getFile: retry after {exc.retry_after}") from exc
            raise _Skip(f"telegram getFile: {exc.message}") from exc
        except NetworkError as exc:
            raise TransientError(f"telegram getFile: {type(exc).__name__}") from exc
        except TelegramError as exc:
            raise _Skip(f"telegram getFile: {exc.message}") from exc

    async def _download(self, url: str) -> bytes:
        if not url.startswith(("https://", "http://")):
            raise _Skip("not an http(s) link")
        try:
            async with self._http.stream("GET", url) as response:
                if response.status_code >= 500 or response.status_code == 429:
                    raise TransientError(f"media download answered {response.status_code}")
                if response.status_code != 200:
                    raise _Skip(f"media download answered {response.status_code}")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self._max:
                        raise _Skip(f"larger than {self._max} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise TransientError(f"media download failed: {type(exc).__name__}") from exc

    async def aclose(self) -> None:
        await self._http.aclose()
        for bot in self._bots.values():
            await bot.shutdown()
