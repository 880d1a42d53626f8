"""Messenger webhooks: one endpoint per channel account, so the URL names the bot.

Every request goes through the same steps: the account name is checked, the source is
rate-limited (Redis), the account is looked up (cached; unknown -> 404), the body is read
with a cap, the signature is verified in constant time (bad or missing -> 403, logged
without the body, nothing published), the verified raw body is published to
``raw.<channel>.v1`` and only after the broker's ack the provider gets its 2xx answer.

The three routes are plain Starlette endpoints served ahead of FastAPI's router
(``helpdesk_common.direct_routes``): no per-request route scan or dependency resolution.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.responses import PlainTextResponse
from faststream.kafka import KafkaBroker
from helpdesk_common import correlation
from helpdesk_common.broker import publish_encoded
from helpdesk_common.channel_accounts import (
    CONFIRMATION,
    TOKEN,
    WEBHOOK_SECRET,
    ChannelAccount,
    ChannelAccountDirectory,
)
from helpdesk_common.consuming import TransientError
from helpdesk_common.logs import get_logger
from helpdesk_common.records import Channel, RawWebhook, new_id
from helpdesk_common.topics import raw_topic
from starlette.routing import Route

from . import signatures
from .body import read_capped
from .handlers import client_ip
from .ratelimit import RateLimiter
from .settings import GatewaySettings

log = get_logger(__name__)
ACCOUNT = re.compile(r"^[a-zA-Z0-9_.-]{1,64}$")
TELEGRAM_SECRET_HEADER = "x-telegram-bot-api-secret-token"
VIBER_SIGNATURE_HEADER = "x-viber-content-signature"
# Headers worth keeping with the raw body (never the secret-carrying ones).
KEPT_HEADERS = ("content-type", "user-agent", "x-retry-counter")


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: a nesting bomb ("[[[[...")
        return None
    return value if isinstance(value, dict) else None


def kept_headers(request: Request) -> dict[str, str]:
    headers = request.headers
    kept = {name: headers.get(name) for name in KEPT_HEADERS}
    return {name: value for name, value in kept.items() if value is not None}


class WebhookEdge:
    def __init__(
        self,
        settings: GatewaySettings,
        broker: KafkaBroker,
        limiter: RateLimiter,
        accounts: ChannelAccountDirectory,
    ) -> None:
        self._settings = settings
        self._broker = broker
        self._limiter = limiter
        self._accounts = accounts

    async def admit(self, request: Request, channel: Channel, name: str) -> ChannelAccount:
        """Name, rate limit, account: before any of the body is read."""
        if not ACCOUNT.match(name):
            raise HTTPException(status_code=404, detail="unknown channel account")
        ip = client_ip(request, self._settings)
        if not await self._limiter.allow(f"{channel.value}:{ip}"):
            log.warning("webhook_rate_limited", channel=channel.value, account=name, ip=ip)
            raise HTTPException(429, "too many requests", headers={"Retry-After": "60"})
        try:
            account = await self._accounts.get_enabled(channel, name)
        except TransientError as exc:
            log.error("channel_account_lookup_failed", channel=channel.value, error=str(exc))
            raise HTTPException(503, "try again later", headers={"Retry-After": "5"}) from exc
        if account is None:
            log.info("webhook_unknown_account", channel=channel.value, account=name)
            raise HTTPException(status_code=404, detail="unknown channel account")
        return account

    async def body(self, request: Request) -> bytes:
        return await read_capped(request, self._settings.max_body_bytes)

    def reject(self, request: Request, channel: Channel, name: str, reason: str) -> HTTPException:
        log.warning(
            "webhook_rejected",
            channel=channel.value,
            account=name,
            reason=reason,
            ip=client_ip(request, self._settings),
        )
        return HTTPException(status_code=403, detail="forbidden")

    async def forward(
        self, request: Request, channel: Channel, account: ChannelAccount, body: bytes
    ) -> None:
        """Publish the verified body; returns once the broker acked it."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HTTPException(status_code=400, detail="body is not UTF-8") from exc
        digest = hashlib.sha256(f"{channel.value}:{account.name}:".encode() + body).hexdigest()
        record = RawWebhook(
            raw_id=digest[:32],
            correlation_id=correlation.current() or new_id(),
            channel=channel,
            channel_account=account.name,
            content_type=request.headers.get("content-type", "application/json"),
            headers=kept_headers(request),
            body=text,
            source_ip=client_ip(request, self._settings),
        )
        topic = raw_topic(channel)
        # Straight into the producer (no FastStream publish pipeline), the same headers;
        # ``asyncio.timeout`` rather than ``wait_for``, which costs a task per call.
        value = record.model_dump_json().encode()
        try:
            async with asyncio.timeout(self._settings.publish_timeout_seconds):
                await publish_encoded(
                    self._broker, topic, [(record, value)], producer=self._settings.service_name
                )
        except (TimeoutError, ConnectionError) as exc:
            log.error("webhook_publish_failed", channel=channel.value, error=type(exc).__name__)
            raise HTTPException(503, "try again later", headers={"Retry-After": "5"}) from exc
        log.info(  # one per webhook, with its raw id: what an audit of a lost message starts from
            "webhook_accepted", channel=channel.value, account=account.name, raw_id=record.raw_id
        )


def webhook_routes(edge: WebhookEdge) -> list[Route]:
    """``POST /webhooks/{telegram,viber,vk}/{account}`` (direct routes)."""

    async def telegram(request: Request) -> Response:
        account: str = request.path_params["account"]
        found = await edge.admit(request, Channel.TELEGRAM, account)
        header = request.headers.get(TELEGRAM_SECRET_HEADER)
        if not signatures.telegram_ok(header, found.secret(WEBHOOK_SECRET)):
            raise edge.reject(request, Channel.TELEGRAM, account, "secret token mismatch")
        await edge.forward(request, Channel.TELEGRAM, found, await edge.body(request))
        return Response(status_code=200)

    async def viber(request: Request) -> Response:
        account: str = request.path_params["account"]
        found = await edge.admit(request, Channel.VIBER, account)
        body = await edge.body(request)
        header = request.headers.get(VIBER_SIGNATURE_HEADER)
        if not signatures.viber_ok(body, header, found.secret(TOKEN)):
            raise edge.reject(request, Channel.VIBER, account, "signature mismatch")
        event = _json_object(body)
        if event is not None and event.get("event") == "webhook":
            log.info("viber_webhook_confirmed", account=account)  # set_webhook's check call
            return Response(status_code=200)
        await edge.forward(request, Channel.VIBER, found, body)
        return Response(status_code=200)

    async def vk(request: Request) -> Response:
        account: str = request.path_params["account"]
        found = await edge.admit(request, Channel.VK, account)
        body = await edge.body(request)
        event = _json_object(body)
        if event is None:
            raise edge.reject(request, Channel.VK, account, "not a JSON object")
        group_id = found.config.get("group_id")
        if group_id is not None and str(event.get("group_id")) != str(group_id):
            raise edge.reject(request, Channel.VK, account, "group_id mismatch")
        if event.get("type") == "confirmation" and "secret" not in event:
            # VK's handshake may come before a secret is set; it only reveals the
            # confirmation string, which VK itself shows the community's admins.
            return PlainTextResponse(found.secret(CONFIRMATION) or "")
        if not signatures.vk_ok(event.get("secret"), found.secret(WEBHOOK_SECRET)):
            raise edge.reject(request, Channel.VK, account, "secret mismatch")
        if event.get("type") == "confirmation":
            return PlainTextResponse(found.secret(CONFIRMATION) or "")
        await edge.forward(request, Channel.VK, found, body)
        return PlainTextResponse("ok")

    return [
        Route("/webhooks/telegram/{account}", telegram, methods=["POST"]),
        Route("/webhooks/viber/{account}", viber, methods=["POST"]),
        Route("/webhooks/vk/{account}", vk, methods=["POST"]),
    ]
