"""CSRF tokens and the security headers of console pages.

CSRF: a logged-in agent's token is an HMAC of a fixed label keyed with the session token
(which only the HttpOnly cookie carries), so it is per session, needs no storage and
cannot be computed by a page that cannot read the cookie. Forms send it in a hidden
field, HTMX requests in the ``X-CSRF-Token`` header. The login form (no session yet) uses
a double-submit cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOGIN_CSRF_COOKIE = "helpdesk_console_login"
_LABEL = b"helpdesk-console-csrf-v1"


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), _LABEL, hashlib.sha256).hexdigest()


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(expected: str, given: str | None) -> bool:
    return bool(given) and secrets.compare_digest(expected.encode(), (given or "").encode())


def push_origin(push_url: str | None) -> str | None:
    """The scheme://host[:port] of the push WebSocket, for the CSP's connect-src."""
    if not push_url:
        return None
    parts = urlsplit(push_url)
    if parts.scheme not in {"ws", "wss"} or not parts.netloc:
        raise ValueError("the console push URL must be ws:// or wss:// with a host")
    return f"{parts.scheme}://{parts.netloc}"


def security_headers(push_url: str | None) -> dict[str, str]:
    """Headers for every console response: no inline script or style, no framing, no
    sniffing, no referrer leaving the site, nothing cached."""
    connect = "'self'"
    origin = push_origin(push_url)
    if origin:
        connect += f" {origin}"
    policy = "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src {connect}",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        )
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cache-Control": "no-store",
    }
