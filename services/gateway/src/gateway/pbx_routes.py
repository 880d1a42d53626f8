"""The generic PBX webhook: ``POST /webhooks/pbx/{account}/{token}``.

For PBXs that push HTTP (the "generic CTI" shape: ``event`` newCall | answer | hangup,
``callId``, ``from``, ``to``, ``direction``, ``user``, ``cause``, ...), form-encoded or
JSON. The secret token in the URL is the phone account's ``webhook_token`` (constant-time
compare; 403 and nothing published otherwise). The body goes to ``raw.telephony.v1``
(telephony turns it into call events) and the PBX gets ``{}`` once the broker acked, or
``{"action": "reject"}`` for a new call from one of the account's ``blocked_numbers``
(matched by the last ``match_digits`` digits).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from helpdesk_common.phone_accounts import PBX_WEBHOOK_PREFIX, WEBHOOK_TOKEN
from helpdesk_common.phone_numbers import DEFAULT_MATCH_DIGITS, same_number
from helpdesk_common.records import Channel

from .channel_routes import WebhookEdge
from .settings import GatewaySettings
from .sms_routes import publish_raw
from .url_tokens import token_ok


def _fields(body: bytes, content_type: str) -> dict[str, Any]:
    if content_type.startswith("application/json"):
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: a nesting bomb ("[[[[...")
            return {}
        return value if isinstance(value, dict) else {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def blocked(config: dict[str, Any], body: bytes, content_type: str) -> bool:
    numbers = config.get("blocked_numbers") or []
    if not numbers:
        return False
    fields = _fields(body, content_type)
    caller = str(fields.get("from") or "")
    if fields.get("event") != "newCall" or fields.get("direction", "in") != "in" or not caller:
        return False
    digits = int(config.get("match_digits") or DEFAULT_MATCH_DIGITS)
    return any(same_number(caller, str(n), digits) for n in numbers)


def pbx_router(edge: WebhookEdge, settings: GatewaySettings, broker: KafkaBroker) -> APIRouter:
    router = APIRouter(prefix=PBX_WEBHOOK_PREFIX, tags=["webhooks"])

    @router.post("/{account}/{token}")
    async def pbx(request: Request, account: str, token: str) -> JSONResponse:
        found = await edge.admit(request, Channel.PHONE, account)
        if found.config.get("kind") != "pbx_webhook" or not token_ok(
            token, found.secret(WEBHOOK_TOKEN)
        ):
            raise edge.reject(request, Channel.PHONE, account, "webhook token mismatch")
        body = await edge.body(request)
        await publish_raw(broker, settings, request, Channel.PHONE, found, body, {})
        if blocked(found.config, body, request.headers.get("content-type", "")):
            return JSONResponse({"action": "reject"})
        return JSONResponse({})

    return router
