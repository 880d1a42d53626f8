"""Agent login through the running ticket-core: sessions in the real Redis, the cookie and
bearer forms, logout, lockout, password changes, deactivation."""

from __future__ import annotations

import hashlib

import httpx
from devstack.services import Infra
from redis.asyncio import Redis

from .auth_helpers import PASSWORD, log_in, logged_in, new_agent

Api = httpx.AsyncClient


def _session_key(token: str) -> str:
    return "helpdesk:session:" + hashlib.sha256(token.encode()).hexdigest()


async def test_login_gives_a_cookie_and_a_bearer_token_and_logout_ends_the_session(
    tickets_api: Api, infra: Infra
) -> None:
    agent_id, login, email = await new_agent(tickets_api, "lead_specialist")
    response = await log_in(tickets_api, login.upper())  # logins are case-insensitive
    assert response.status_code == 200, response.text
    body = response.json()
    token = body["token"]
    assert body["agent"] == {
        "id": agent_id,
        "name": body["agent"]["name"],
        "email": email,
        "login": login,
        "role": "lead_specialist",
    }
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"helpdesk_session={token};")
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "secure" in lowered

    # Only the token's SHA-256 is stored, with a sliding expiry.
    redis = Redis.from_url(infra.redis_url, decode_responses=True)
    try:
        stored = await redis.hgetall(_session_key(token))
        assert stored["agent_id"] == str(agent_id) and stored["role"] == "lead_specialist"
        assert 0 < await redis.ttl(_session_key(token)) <= 8 * 3600
        assert not [k async for k in redis.scan_iter(match=f"*{token}*")]
    finally:
        await redis.aclose()

    by_bearer = await tickets_api.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert by_bearer.status_code == 200 and by_bearer.json()["id"] == agent_id
    by_cookie = await tickets_api.get(
        "/api/v1/auth/me", headers={"Cookie": f"helpdesk_session={token}"}
    )
    assert by_cookie.status_code == 200 and by_cookie.json()["id"] == agent_id
    # The email works as the login too.
    assert (await log_in(tickets_api, email)).status_code == 200

    out = await tickets_api.post(
        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}
    )
    assert out.status_code == 204
    assert (
        'helpdesk_session=""' in out.headers["set-cookie"]
        or "Max-Age=0" in out.headers["set-cookie"]
    )
    after = await tickets_api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401
    listed = await tickets_api.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 401  # a dead token is never taken for the open service access
    assert (await tickets_api.get("/api/v1/auth/me")).status_code == 401  # nobody logged in


async def test_wrong_passwords_unknown_logins_and_bad_input(tickets_api: Api) -> None:
    agent_id, login, _ = await new_agent(tickets_api)
    assert (await log_in(tickets_api, login, "wrong-password")).status_code == 401
    unknown = await log_in(tickets_api, "nobody.here", PASSWORD)
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == "wrong login or password"
    for body in ({"login": login}, {"login": "", "password": "x"}, {"password": PASSWORD}):
        assert (await tickets_api.post("/api/v1/auth/login", json=body)).status_code == 422
    bad_auth = await tickets_api.get("/api/v1/tickets", headers={"Authorization": "Basic abc"})
    assert bad_auth.status_code == 401
    creds = f"/api/v1/agents/{agent_id}/credentials"
    assert (await tickets_api.put(creds, json={"password": "short"})).status_code == 422
    assert (await tickets_api.put(creds, json={"login": "has space"})).status_code == 422
    assert (await tickets_api.put(creds, json={})).status_code == 422
    missing = await tickets_api.put(
        "/api/v1/agents/999999999/credentials", json={"password": PASSWORD}
    )
    assert missing.status_code == 404
    _, other_login, _ = await new_agent(tickets_api)
    taken = await tickets_api.put(creds, json={"login": other_login})
    assert taken.status_code == 409


async def test_lockout_after_repeated_failures_then_the_right_password_is_refused_too(
    tickets_api: Api,
) -> None:
    _, login, _ = await new_agent(tickets_api)
    _, neighbour, _ = await new_agent(tickets_api)
    # A success clears the count: 4 failures, a success, 4 more do not lock.
    for _ in range(4):
        assert (await log_in(tickets_api, login, "wrong-password")).status_code == 401
    assert (await log_in(tickets_api, login)).status_code == 200
    for _ in range(4):
        assert (await log_in(tickets_api, login, "wrong-password")).status_code == 401
    assert (await log_in(tickets_api, login)).status_code == 200
    # Five in a row (TICKET_CORE_LOGIN_MAX_FAILURES) lock the login.
    for _ in range(5):
        assert (await log_in(tickets_api, login, "wrong-password")).status_code == 401
    locked = await log_in(tickets_api, login)
    assert locked.status_code == 429, locked.text
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    assert "too many failed logins" in locked.json()["detail"]
    assert (await log_in(tickets_api, neighbour)).status_code == 200  # others unaffected


async def test_changing_passwords_and_deactivation_end_sessions(tickets_api: Api) -> None:
    agent = await logged_in(tickets_api)
    second = (await log_in(tickets_api, agent.login)).json()["token"]
    me = "/api/v1/auth/me"

    wrong = await tickets_api.post(
        "/api/v1/auth/password",
        json={"current_password": "not-it-at-all", "new_password": "n3w-Passw0rd"},
        headers=agent.headers,
    )
    assert wrong.status_code == 403
    weak = await tickets_api.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=agent.headers,
    )
    assert weak.status_code == 422
    changed = await tickets_api.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "n3w-Passw0rd"},
        headers=agent.headers,
    )
    assert changed.status_code == 204
    # The session that changed it lives on; the agent's other sessions ended.
    assert (await tickets_api.get(me, headers=agent.headers)).status_code == 200
    assert (
        await tickets_api.get(me, headers={"Authorization": f"Bearer {second}"})
    ).status_code == 401
    assert (await log_in(tickets_api, agent.login)).status_code == 401
    assert (await log_in(tickets_api, agent.login, "n3w-Passw0rd")).status_code == 200
    # The service API needs a session for "my password".
    no_session = await tickets_api.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "n3w-Passw0rd"},
    )
    assert no_session.status_code == 401

    # An administrator setting a password ends every session of the agent.
    await tickets_api.put(
        f"/api/v1/agents/{agent.agent_id}/credentials", json={"password": "adm1n-Set-pass"}
    )
    assert (await tickets_api.get(me, headers=agent.headers)).status_code == 401

    # Deactivation ends the sessions and refuses logins.
    other = await logged_in(tickets_api)
    off = await tickets_api.patch(f"/api/v1/agents/{other.agent_id}", json={"active": False})
    assert off.status_code == 200, off.text
    assert (await tickets_api.get(me, headers=other.headers)).status_code == 401
    assert (await log_in(tickets_api, other.login)).status_code == 401
