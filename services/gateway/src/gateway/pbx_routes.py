"""The generic PBX webhook: ``POST /webhooks/pbx/{account}/{token}``.

For PBXs that push HTTP (the "generic CTI" shape: ``event`` newCall | answer | hangup,
``callId``, ``from``, ``to``, ``direction``, ``user``, ``cause``, ...), form-encoded or
JSON. The secret token in the URL is the phone account's ``webhook_token`` (constant-time
compare; 403 and nothing published otherwise). The body goes to ``raw.telephony.v1``
(telephony turns it into call events) and the PBX gets ``{}`` once the broker acked.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from helpdesk_common.phone_accounts import WEBHOOK_TOKEN
from helpdesk_common.records import Channel

from .channel_routes import WebhookEdge
from .settings import GatewaySettings
from .sms_routes import publish_raw
from .url_tokens import token_ok


def pbx_router(edge: WebhookEdge, settings: GatewaySettings, broker: KafkaBroker) -> APIRouter:
    router = APIRouter(prefix="/webhooks/pbx", tags=["webhooks"])

    @router.post("/{account}/{token}")
    async def pbx(request: Request, account: str, token: str) -> JSONResponse:
        found = await edge.admit(request, Channel.PHONE, account)
        if found.config.get("kind") != "pbx_webhook" or not token_ok(
            token, found.secret(WEBHOOK_TOKEN)
        ):
            raise edge.reject(request, Channel.PHONE, account, "webhook token mismatch")
        body = await edge.body(request)
        await publish_raw(broker, settings, request, Channel.PHONE, found, body, {})
        return JSONResponse({})

    return router
