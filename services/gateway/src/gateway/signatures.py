"""Webhook verification, each in constant time (``hmac.compare_digest`` on bytes).

- Telegram: the ``X-Telegram-Bot-Api-Secret-Token`` header equals the secret we set.
- Viber: ``X-Viber-Content-Signature`` is the hex HMAC-SHA256 of the raw body keyed with
  the account's auth token (computed on the bytes received, never on re-serialised JSON).
- VK: the callback's ``secret`` field equals the secret configured for the server.
"""

from __future__ import annotations

import hashlib
import hmac


def _same(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def telegram_ok(header: str | None, secret: str | None) -> bool:
    return _same(header, secret)


def viber_signature(body: bytes, auth_token: str) -> str:
    return hmac.new(auth_token.encode("utf-8"), body, hashlib.sha256).hexdigest()


def viber_ok(body: bytes, header: str | None, auth_token: str | None) -> bool:
    if not auth_token or not header:
        return False
    return _same(header.strip().lower(), viber_signature(body, auth_token))


def vk_ok(secret_field: object, secret: str | None) -> bool:
    return isinstance(secret_field, str) and _same(secret_field, secret)
