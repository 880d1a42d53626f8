"""Secrets carried in webhook URLs (PBX webhooks, SMS.ru pushes), compared in constant time."""

from __future__ import annotations

import hmac


def token_ok(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
