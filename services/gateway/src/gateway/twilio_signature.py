"""Twilio's ``X-Twilio-Signature``: base64 HMAC-SHA1, keyed with the account's auth token,
of the full public URL Twilio requested followed by every POST parameter's name and
value (names sorted; repeated names' values sorted), compared in constant time.

Behind a reverse proxy the URL this process sees is not the one Twilio signed, so it is
rebuilt: from ``GATEWAY_PUBLIC_BASE_URL`` when set, else from ``X-Forwarded-Proto`` /
``X-Forwarded-Host`` when ``GATEWAY_TRUST_FORWARDED_HOST`` says the proxy sets them,
else as received. Like Twilio's own validator, the URL is tried with and without the
scheme's default port.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

from fastapi import Request

from .settings import GatewaySettings

HEADER = "x-twilio-signature"
DEFAULT_PORTS = {"https": 443, "http": 80}


def signature(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    payload = url
    for name in sorted({n for n, _ in params}):
        for value in sorted(v for n, v in params if n == name):
            payload += name + value
    digest = hmac.new(auth_token.encode(), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _port_variants(url: str) -> list[str]:
    parts = urlsplit(url)
    default = DEFAULT_PORTS.get(parts.scheme)
    host = parts.hostname or ""
    if default is None or not host:
        return [url]
    with_port = urlunsplit(parts._replace(netloc=f"{host}:{parts.port or default}"))
    without = urlunsplit(parts._replace(netloc=host)) if parts.port in (None, default) else url
    return list(dict.fromkeys([url, with_port, without]))


def valid(
    auth_token: str | None, url: str, params: Sequence[tuple[str, str]], given: str | None
) -> bool:
    if not auth_token or not given:
        return False
    return any(
        hmac.compare_digest(signature(auth_token, candidate, params).encode(), given.encode())
        for candidate in _port_variants(url)
    )


def public_url(request: Request, settings: GatewaySettings) -> str:
    """The URL Twilio requested, as it saw it."""
    path_and_query = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if settings.public_base_url:
        base = urlsplit(settings.public_base_url.rstrip("/"))
        return urlunsplit(
            (base.scheme, base.netloc, base.path + request.url.path, request.url.query, "")
        )
    if settings.trust_forwarded_host:
        proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
        host = request.headers.get("x-forwarded-host", "").split(",")[0].strip()
        if proto or host:
            scheme = proto or request.url.scheme
            netloc = host or request.headers.get("host", request.url.netloc)
            return f"{scheme}://{netloc}{path_and_query}"
    return str(request.url)
