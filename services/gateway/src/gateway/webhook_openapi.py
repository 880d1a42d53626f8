"""The messenger webhooks' OpenAPI description, written by hand (pure data).

The three routes are direct Starlette routes (``channel_routes.webhook_routes``), which
FastAPI does not document; ``helpdesk_common.direct_routes.add_to_openapi`` puts these
path items into the gateway's ``/openapi.json``. The answers listed are the ones
``channel_routes.py`` and ``body.py`` give (a 405 with ``Allow`` for another method is
not listed, as FastAPI does not list it either).
"""

from __future__ import annotations

from typing import Any

from .channel_routes import ACCOUNT, TELEGRAM_SECRET_HEADER, VIBER_SIGNATURE_HEADER

TAG = "messenger webhooks"
_ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}


def _error(description: str, retry_after: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _ERROR}},
    }
    if retry_after:
        answer["headers"] = _RETRY_AFTER
    return answer


def _errors(forbidden: str) -> dict[str, Any]:
    return {
        "400": _error("Content-Length is not a number, or the body is not UTF-8."),
        "403": _error(f"Refused, logged without the body, nothing published: {forbidden}."),
        "404": _error("Unknown or disabled channel account (or a malformed account name)."),
        "413": _error("Body larger than GATEWAY_MAX_BODY_BYTES (declared or streamed)."),
        "429": _error(
            "Rate limited per source (GATEWAY_WEBHOOK_RATE_LIMIT_PER_MINUTE).", retry_after=True
        ),
        "503": _error(
            "Account lookup or publishing to the broker failed or timed out; retry.",
            retry_after=True,
        ),
    }


_ACCOUNT_PARAMETER = {
    "name": "account",
    "in": "path",
    "required": True,
    "description": "The channel account (bot) the webhook is for.",
    "schema": {"type": "string", "pattern": ACCOUNT.pattern},
}


def _body(description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "required": True,
        "description": description,
        "content": {
            "application/json": {
                "schema": {"type": "object", "properties": properties, "additionalProperties": True}
            }
        },
    }


def _header(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _operation(
    operation_id: str,
    summary: str,
    headers: list[dict[str, Any]],
    body: dict[str, Any],
    ok: dict[str, Any],
    forbidden: str,
) -> dict[str, Any]:
    return {
        "post": {
            "tags": [TAG],
            "operationId": operation_id,
            "summary": summary,
            "description": (
                "Checked in this order: account name, per-source rate limit, account "
                "lookup, then the signature and the body (size cap); the verified raw body "
                "is published to the channel's raw topic and the 2xx comes only after the "
                "broker's acknowledgement."
            ),
            "parameters": [_ACCOUNT_PARAMETER, *headers],
            "requestBody": body,
            "responses": {"200": ok, **_errors(forbidden)},
        }
    }


PATH_ITEMS: dict[str, dict[str, Any]] = {
    "/webhooks/telegram/{account}": _operation(
        "telegram_webhook",
        "Telegram Bot API update",
        [
            _header(
                TELEGRAM_SECRET_HEADER,
                "The secret_token given to setWebhook; compared in constant time.",
            )
        ],
        _body("A Telegram Update.", {"update_id": {"type": "integer"}}),
        {"description": "Accepted (published). Empty body."},
        "missing or wrong secret token",
    ),
    "/webhooks/viber/{account}": _operation(
        "viber_webhook",
        "Viber callback",
        [
            _header(
                VIBER_SIGNATURE_HEADER,
                "Hex HMAC-SHA256 of the raw body keyed with the account's auth token.",
            )
        ],
        _body("A Viber callback event.", {"event": {"type": "string"}}),
        {
            "description": "Accepted (published), or the set_webhook check call "
            '(`"event": "webhook"`) confirmed without publishing. Empty body.'
        },
        "missing or wrong signature",
    ),
    "/webhooks/vk/{account}": _operation(
        "vk_webhook",
        "VK Callback API event",
        [],
        _body(
            "A VK Callback API event; its `secret` field is the server's secret "
            "(a `confirmation` may come without one).",
            {
                "type": {"type": "string"},
                "group_id": {"type": "integer"},
                "secret": {"type": "string"},
                "object": {"type": "object"},
            },
        ),
        {
            "description": "`ok` when accepted (published), or the confirmation string for a "
            "`confirmation` event.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        "body not a JSON object, group_id not the account's, or wrong secret",
    ),
}
