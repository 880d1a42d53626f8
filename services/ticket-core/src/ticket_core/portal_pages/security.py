"""The portal's CSRF tokens: per portal session, nothing stored.

A logged-in contact's token is an HMAC of a label of its own (not the console's) keyed
with the portal session token, which only the HttpOnly ``helpdesk_portal_session`` cookie
carries. The login form (no session yet) uses a double-submit cookie of its own,
``helpdesk_portal_login``. The response headers are the console's
(``console.security.security_headers``: no inline script or style, no framing).
"""

from __future__ import annotations

import hashlib
import hmac

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOGIN_CSRF_COOKIE = "helpdesk_portal_login"
_LABEL = b"helpdesk-portal-csrf-v1"


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), _LABEL, hashlib.sha256).hexdigest()
