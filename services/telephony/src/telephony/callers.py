"""Who calls telephony's API (click-to-call), in this order:

- ``Authorization: Bearer <TELEPHONY_API_TOKEN>``: a trusted service (tools, tests); it
  may name any agent or extension;
- ``Authorization: Bearer <session token>`` or the ``helpdesk_session`` cookie: a
  logged-in agent, checked in the session store ticket-core writes at login
  (``helpdesk_common.agent_sessions``, the same Redis the gateway reads); cookie-borne
  writes from another origin are refused (403);
- nothing, only when ``TELEPHONY_ALLOW_ANONYMOUS=true`` and no API token is set (the
  test system): a trusted service. By default such a request is 401.

Anything else is 401; Redis unreachable while a session must be checked is 503.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from helpdesk_common.agent_sessions import COOKIE_NAME, AgentSessions
from helpdesk_common.logs import get_logger
from redis.exceptions import RedisError

log = get_logger(__name__)


@dataclass(frozen=True)
class Caller:
    service: bool
    agent_id: int | None = None


class Callers:
    def __init__(
        self, api_token: str | None, sessions: AgentSessions, *, allow_anonymous: bool = False
    ) -> None:
        self._api_token = api_token
        self._sessions = sessions
        self._anonymous_is_service = api_token is None and allow_anonymous

    async def __call__(self, request: Request) -> Caller:
        authorization = request.headers.get("authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                raise _unauthorised("use 'Authorization: Bearer <token>'")
            if self._api_token and secrets.compare_digest(token.encode(), self._api_token.encode()):
                return Caller(service=True)
            return await self._agent(token)
        cookie = request.cookies.get(COOKIE_NAME)
        if cookie:
            caller = await self._agent(cookie)
            _check_origin(request)
            return caller
        if self._anonymous_is_service:
            return Caller(service=True)
        raise _unauthorised("log in, or give the API token")

    async def _agent(self, token: str) -> Caller:
        try:
            # Not touched: ticket-core owns the sliding expiry (its API calls extend it).
            session = await self._sessions.lookup(token, touch=False)
        except RedisError as exc:
            log.warning("session_store_unavailable", error=type(exc).__name__)
            raise HTTPException(503, "the session store is unavailable") from exc
        if session is None:
            raise _unauthorised("the session has ended or never existed: log in again")
        return Caller(service=False, agent_id=session.agent_id)


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def _check_origin(request: Request) -> None:
    """A cookie-borne call from a page of another origin is refused (SameSite=Lax already
    stops cross-site forms; this also covers other origins of the same site)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    if origin == "null" or urlsplit(origin).netloc != request.headers.get("host"):
        raise HTTPException(status_code=403, detail="cross-origin request refused")
