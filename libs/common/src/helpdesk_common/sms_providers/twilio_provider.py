"""Twilio Programmable Messaging through the ``twilio`` package.

The client's API host is fixed (``https://api.twilio.com``); ``RebasedHttpClient`` is the
supported hook (a ``twilio.http.AsyncHttpClient``) and sends its requests with httpx to
the account's ``api_base_url`` instead, so the same code reaches Twilio or a local fake.
Its headers (the Basic credentials) are never logged.

Errors: HTTP 429/5xx and network errors are transient; any other error (21211 invalid
To, 21610 unsubscribed, 21408 region not enabled, 21606 From not capable, 20003 bad
credentials, ...) is a refusal with Twilio's code and message.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import httpx
from twilio.base.exceptions import TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from ..channel_accounts import ChannelAccount
from ..consuming import TransientError
from ..records import DeliveryState
from .accounts import AUTH_TOKEN, SmsAccountConfig
from .base import Balance, ProviderRefused, SendResult, StatusReport, rate_limit_error
from .segments import segment_count

TWILIO_HOST = "https://api.twilio.com"
STATES: dict[str, DeliveryState | None] = {
    "accepted": None,
    "scheduled": None,
    "queued": None,
    "sending": None,
    "sent": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.READ,
    "undelivered": DeliveryState.FAILED,
    "failed": DeliveryState.FAILED,
    "canceled": DeliveryState.FAILED,
}
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)  # logs headers at INFO


class RebasedHttpClient(AsyncHttpClient):  # type: ignore[misc]
    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(logger=logging.getLogger("twilio.rebased"), is_async=True)
        self._base = base_url.rstrip("/")
        self._http = httpx.AsyncClient(timeout=timeout)

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if url.startswith(TWILIO_HOST):
            url = self._base + url[len(TWILIO_HOST) :]
        try:
            answer = await self._http.request(
                method,
                url,
                params=params,  # type: ignore[arg-type]
                data=data,
                headers=headers,
                auth=auth,
                follow_redirects=allow_redirects,
            )
        except httpx.HTTPError as exc:
            raise TransientError(f"twilio: {type(exc).__name__}") from exc
        if answer.status_code == 429:
            raise rate_limit_error("twilio", answer)  # keeps the Retry-After the SDK drops
        return Response(answer.status_code, answer.text, answer.headers)

    async def aclose(self) -> None:
        await self._http.aclose()


def _mapped(exc: TwilioRestException) -> Exception:
    text = f"twilio {exc.code or exc.status}: {exc.msg}".strip()
    if exc.status == 429 or exc.status >= 500:
        return TransientError(text)
    return ProviderRefused(text)


class TwilioProvider:
    name = "twilio"
    polls_status = False  # status callbacks
    supports_media = True  # MMS: Twilio fetches each MediaUrl

    def __init__(
        self, config: SmsAccountConfig, account: ChannelAccount, timeout_seconds: float
    ) -> None:
        self._config = config
        assert config.account_sid is not None
        self._sid = config.account_sid
        self._http = RebasedHttpClient(config.base_url(), timeout_seconds)
        self._client = Client(self._sid, account.require_secret(AUTH_TOKEN), http_client=self._http)

    async def send(
        self, to: str, text: str, status_callback: str | None, media_urls: Sequence[str] = ()
    ) -> SendResult:
        options: dict[str, Any] = {"to": to, "body": text}
        if self._config.messaging_service_sid:
            options["messaging_service_sid"] = self._config.messaging_service_sid
        else:
            options["from_"] = self._config.sender
        if status_callback:
            options["status_callback"] = status_callback
        if media_urls:
            options["media_url"] = list(media_urls)
        try:
            message = await self._client.messages.create_async(**options)
        except TwilioRestException as exc:
            raise _mapped(exc) from exc
        reported = int(message.num_segments or 0)
        return SendResult(str(message.sid), reported or segment_count(text))

    async def status(self, provider_message_id: str, to: str) -> StatusReport:
        try:
            message = await self._client.messages(provider_message_id).fetch_async()
        except TwilioRestException as exc:
            raise _mapped(exc) from exc
        reason = f"twilio {message.error_code}: {message.error_message or ''}".strip()
        state = STATES.get(str(message.status))
        return StatusReport(state, reason if message.error_code else None)

    async def balance(self) -> Balance:
        try:
            found = await self._client.api.v2010.accounts(self._sid).balance.fetch_async()
        except TwilioRestException as exc:
            raise _mapped(exc) from exc
        return Balance(str(found.balance), found.currency)

    async def aclose(self) -> None:
        await self._http.aclose()
