"""Telephony's click-to-call callers: a request without credentials is refused unless the
deployment explicitly allows anonymous callers (tests) and has no API token."""

from __future__ import annotations

import pytest
from fastapi import HTTPException
from helpdesk_common.agent_sessions import AgentSessions
from redis.asyncio import Redis
from starlette.requests import Request
from telephony.callers import Caller, Callers


def _bare_request(headers: list[tuple[bytes, bytes]] | None = None) -> Request:
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers or []})


@pytest.mark.parametrize(
    ("api_token", "allow_anonymous", "trusted"),
    [(None, False, False), (None, True, True), ("secret", True, False), ("secret", False, False)],
)
async def test_anonymous_callers_are_a_service_only_when_allowed_and_tokenless(
    api_token: str | None, allow_anonymous: bool, trusted: bool
) -> None:
    redis = Redis.from_url("redis://127.0.0.1:1")  # never reached: no session to look up
    callers = Callers(api_token, AgentSessions(redis), allow_anonymous=allow_anonymous)
    if trusted:
        assert await callers(_bare_request()) == Caller(service=True)
    else:
        with pytest.raises(HTTPException) as refused:
            await callers(_bare_request())
        assert refused.value.status_code == 401
    await redis.aclose()


async def test_the_service_token_is_a_service_whatever_the_anonymous_setting() -> None:
    redis = Redis.from_url("redis://127.0.0.1:1")
    callers = Callers("secret", AgentSessions(redis), allow_anonymous=False)
    request = _bare_request([(b"authorization", b"Bearer secret")])
    assert await callers(request) == Caller(service=True)
    await redis.aclose()
