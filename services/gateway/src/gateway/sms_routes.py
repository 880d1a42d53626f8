"""SMS webhooks: Twilio inbound SMS/MMS and status callbacks, SMS.ru status pushes.

- ``POST /webhooks/sms/{account}``: an inbound SMS/MMS from Twilio. ``X-Twilio-Signature``
  is checked over the public URL and the form (403, nothing published, when it fails);
  the form goes to ``raw.sms.v1`` and Twilio gets an empty TwiML ``<Response/>`` as
  text/xml once the broker acked it.
- ``POST /webhooks/sms/{account}/status``: a Twilio status callback (signed the same way).
- ``POST /webhooks/sms/{account}/push/{token}``: SMS.ru status pushes (``data[N]``); SMS.ru
  signs nothing, so the URL carries the account's ``callback_token`` (constant-time
  compare); answered ``100`` as SMS.ru expects.

The raw record's ``x-helpdesk-sms-event`` header (``inbound``, ``status``, ``push``) tells
messenger-ingest which of them it is.
"""

from __future__ import annotations

import asyncio
import hashlib
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import PlainTextResponse
from faststream.kafka import KafkaBroker
from helpdesk_common import correlation
from helpdesk_common.broker import publish
from helpdesk_common.channel_accounts import ChannelAccount
from helpdesk_common.logs import get_logger
from helpdesk_common.records import Channel, RawWebhook, new_id
from helpdesk_common.sms_providers.accounts import AUTH_TOKEN, CALLBACK_TOKEN
from helpdesk_common.topics import raw_topic

from . import twilio_signature
from .channel_routes import WebhookEdge
from .handlers import client_ip
from .settings import GatewaySettings
from .url_tokens import token_ok

log = get_logger(__name__)
EVENT_HEADER = "x-helpdesk-sms-event"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
FORM = "application/x-www-form-urlencoded"


async def publish_raw(
    broker: KafkaBroker,
    settings: GatewaySettings,
    request: Request,
    channel: Channel,
    account: ChannelAccount,
    body: bytes,
    headers: dict[str, str],
) -> RawWebhook:
    """Publish the verified body to ``raw.<channel>.v1``; returns once the broker acked."""
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
        content_type=request.headers.get("content-type", FORM),
        headers=headers,
        body=text,
        source_ip=client_ip(request, settings),
    )
    try:
        await asyncio.wait_for(
            publish(broker, raw_topic(channel), record, producer=settings.service_name),
            settings.publish_timeout_seconds,
        )
    except (TimeoutError, ConnectionError) as exc:
        log.error("webhook_publish_failed", channel=channel.value, error=type(exc).__name__)
        raise HTTPException(503, "try again later", headers={"Retry-After": "5"}) from exc
    log.info("webhook_accepted", channel=channel.value, account=account.name, raw_id=record.raw_id)
    return record


def sms_router(edge: WebhookEdge, settings: GatewaySettings, broker: KafkaBroker) -> APIRouter:
    router = APIRouter(prefix="/webhooks/sms", tags=["webhooks"])

    async def twilio_signed(request: Request, name: str, kind: str) -> Response:
        account = await edge.admit(request, Channel.SMS, name)
        if account.config.get("provider") != "twilio":
            raise edge.reject(request, Channel.SMS, name, "not a twilio account")
        body = await edge.body(request)
        params = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        url = twilio_signature.public_url(request, settings)
        given = request.headers.get(twilio_signature.HEADER)
        if not twilio_signature.valid(account.secret(AUTH_TOKEN), url, params, given):
            raise edge.reject(request, Channel.SMS, name, "twilio signature mismatch")
        headers = {EVENT_HEADER: kind}
        await publish_raw(broker, settings, request, Channel.SMS, account, body, headers)
        return Response(EMPTY_TWIML, media_type="text/xml")

    @router.post("/{account}")
    async def inbound(request: Request, account: str) -> Response:
        return await twilio_signed(request, account, "inbound")

    @router.post("/{account}/status")
    async def status(request: Request, account: str) -> Response:
        return await twilio_signed(request, account, "status")

    @router.post("/{account}/push/{token}")
    async def push(request: Request, account: str, token: str) -> Response:
        found = await edge.admit(request, Channel.SMS, account)
        if not token_ok(token, found.secret(CALLBACK_TOKEN)):
            raise edge.reject(request, Channel.SMS, account, "callback token mismatch")
        body = await edge.body(request)
        headers = {EVENT_HEADER: "push"}
        await publish_raw(broker, settings, request, Channel.SMS, found, body, headers)
        return PlainTextResponse("100")

    return router
