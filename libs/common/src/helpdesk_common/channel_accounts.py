"""Channel accounts (a bot, a VK community, a Viber public account) as services see them.

ticket-core owns them (encrypted at rest); the gateway, messenger-ingest and the notifier
read them through ticket-core's internal lookup API with a short TTL cache, so a bot
added or changed through the API is picked up without a restart: a miss is looked up,
an unknown account is remembered as unknown only briefly. email-ingest lists a
channel's accounts (``list_accounts``, never cached) to know which mailboxes to poll.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from .consuming import TransientError
from .logs import get_logger
from .records import Channel

log = get_logger(__name__)
INTERNAL_PATH = "/internal/v1/channel-accounts"

# Secret names per channel (values are only ever sent over the internal API).
TOKEN = "token"
"""Telegram bot token, Viber auth token (also the callback HMAC key), VK access token."""
WEBHOOK_SECRET = "webhook_secret"
"""Telegram ``secret_token`` header value, VK callback ``secret`` field."""
CONFIRMATION = "confirmation"
"""VK: the string the callback server answers to ``type: confirmation``."""


class ChannelAccount(BaseModel):
    """One account with its secrets decrypted (only ever held in memory)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    channel: Channel
    name: str
    display_name: str = ""
    enabled: bool = True
    config: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, SecretStr] = Field(default_factory=dict)

    def secret(self, key: str) -> str | None:
        value = self.secrets.get(key)
        return value.get_secret_value() if value is not None else None

    def require_secret(self, key: str) -> str:
        value = self.secret(key)
        if not value:
            raise LookupError(f"{self.channel.value} account {self.name!r} has no {key}")
        return value


class ChannelAccountDirectory:
    """Cached lookups of channel accounts in ticket-core (``GET /internal/v1/...``).

    ``get`` returns None for an unknown account and raises ``TransientError`` when
    ticket-core cannot answer (callers answer 503 or retry the batch).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        ttl_seconds: float = 30.0,
        negative_ttl_seconds: float = 5.0,
        timeout_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=timeout_seconds,
            transport=transport,
        )
        self._ttl = ttl_seconds
        self._negative_ttl = negative_ttl_seconds
        self._clock = clock
        self._cache: dict[tuple[Channel, str], tuple[float, ChannelAccount | None]] = {}
        self._locks: dict[tuple[Channel, str], asyncio.Lock] = {}

    async def get(self, channel: Channel, name: str) -> ChannelAccount | None:
        key = (channel, name)
        cached = self._fresh(key)
        if cached is not None:
            return cached[1]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # one lookup per account at a time
            cached = self._fresh(key)
            if cached is not None:
                return cached[1]
            account = await self._fetch(channel, name)
            ttl = self._ttl if account is not None else self._negative_ttl
            self._cache[key] = (self._clock() + ttl, account)
            return account

    async def get_enabled(self, channel: Channel, name: str) -> ChannelAccount | None:
        account = await self.get(channel, name)
        return account if account is not None and account.enabled else None

    async def list_accounts(self, channel: Channel) -> list[ChannelAccount]:
        """Every account of ``channel``, enabled or not, fresh from ticket-core (no cache).

        Raises ``TransientError`` when ticket-core cannot answer.
        """
        try:
            response = await self._client.get(f"{INTERNAL_PATH}/{channel.value}")
        except httpx.HTTPError as exc:
            raise TransientError(f"channel account listing failed: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise TransientError(f"channel account listing answered {response.status_code}")
        return [ChannelAccount.model_validate(item) for item in response.json()]

    def forget(self, channel: Channel, name: str) -> None:
        self._cache.pop((channel, name), None)

    def _fresh(self, key: tuple[Channel, str]) -> tuple[float, ChannelAccount | None] | None:
        entry = self._cache.get(key)
        if entry is not None and entry[0] > self._clock():
            return entry
        return None

    async def _fetch(self, channel: Channel, name: str) -> ChannelAccount | None:
        try:
            response = await self._client.get(f"{INTERNAL_PATH}/{channel.value}/{name}")
        except httpx.HTTPError as exc:
            raise TransientError(f"channel account lookup failed: {type(exc).__name__}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            # 401/403/503 are configuration problems, but retrying is the only safe answer.
            raise TransientError(f"channel account lookup answered {response.status_code}")
        account = ChannelAccount.model_validate(response.json())
        log.info("channel_account_loaded", channel=channel.value, account=name)
        return account

    async def aclose(self) -> None:
        await self._client.aclose()
