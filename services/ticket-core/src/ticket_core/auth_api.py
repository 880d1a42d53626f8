"""Agent login over HTTP.

- ``POST /api/v1/auth/login`` (login or email, password): a session token in an HttpOnly
  SameSite=Lax cookie and in the body (for ``Authorization: Bearer`` clients);
- ``POST /api/v1/auth/logout``: ends the caller's session, clears the cookie;
- ``GET /api/v1/auth/me``: the logged-in agent;
- ``POST /api/v1/auth/password``: an agent changes their own password (with the current
  one); their other sessions end;
- ``PUT /api/v1/agents/{agent_id}/credentials``: an administrator sets an agent's login
  and/or initial password; a new password ends the agent's sessions.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, Response
from helpdesk_common.agent_sessions import COOKIE_NAME, AgentSessions
from helpdesk_common.logs import get_logger
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import passwords
from .access import AgentAccess, Principal
from .api_common import not_found, refused
from .login_guard import LoginGuard
from .models_org import AgentRole, agents
from .password_login import Account, checked_login
from .session_cookie import clear_cookie, set_cookie
from .settings import TicketCoreSettings

log = get_logger(__name__)
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
Password = Annotated[str, Field(min_length=1, max_length=passwords.MAX_LENGTH)]


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    login: str = Field(min_length=1, max_length=254, description="The agent's login or email.")
    password: Password


class AgentMe(BaseModel):
    id: int
    name: str
    email: str
    login: str | None
    role: AgentRole


class LoginOut(BaseModel):
    token: str = Field(description="Also set as the HttpOnly cookie; send as Bearer.")
    expires_in: int = Field(description="Seconds of inactivity before the session ends.")
    agent: AgentMe


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: Password
    new_password: Password


class CredentialsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    login: str | None = Field(
        default=None, max_length=64, description="Letters, digits, '.', '_', '-' (lower-cased)."
    )
    password: Password | None = Field(default=None, description="A new initial password.")


class CredentialsOut(BaseModel):
    agent_id: int
    login: str | None
    has_password: bool
    password_changed_at: datetime | None


def normalise_login(raw: str) -> str:
    login = raw.strip().lower()
    if not _LOGIN.match(login):
        raise HTTPException(
            status_code=422,
            detail="a login is 2-64 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit",
        )
    return login


def _me(row: Any) -> AgentMe:
    return AgentMe(id=row.id, name=row.name, email=row.email, login=row.login, role=row.role)


def _agent_principal(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal) or principal.session is None:
        raise HTTPException(status_code=401, detail="not logged in")
    return principal


def auth_router(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    access: AgentAccess,
    guard: LoginGuard,
) -> tuple[APIRouter, APIRouter, APIRouter]:
    """(public: login and logout; any logged-in agent: me and password; settings:
    credentials). ``app.py`` includes each behind its router class."""
    store: AgentSessions = access.store
    public = APIRouter(prefix="/api/v1/auth", tags=["auth"])
    own = APIRouter(prefix="/api/v1/auth", tags=["auth"])
    admin = APIRouter(prefix="/api/v1", tags=["auth"])

    def set_cookie(response: Response, token: str) -> None:
        set_session_cookie(response, token, settings)

    def clear_cookie(response: Response) -> None:
        clear_session_cookie(response, settings)

    @public.post("/login", response_model=LoginOut)
    async def login(body: LoginIn, response: Response) -> LoginOut:
        token, row = await sign_in(sessions, store, guard, body.login, body.password)
        set_cookie(response, token)
        return LoginOut(token=token, expires_in=store.idle_seconds, agent=_me(row))

    @public.post("/logout", status_code=204)
    async def logout(request: Request) -> Response:
        """Ends the session of the cookie or bearer token given (if any); always 204."""
        response = Response(status_code=204)
        clear_cookie(response)
        token = request.cookies.get(COOKIE_NAME)
        authorization = request.headers.get("authorization") or ""
        scheme, _, bearer = authorization.partition(" ")
        if scheme.lower() == "bearer" and bearer.strip():
            token = bearer.strip()
        if token:
            await store.revoke(token)
        return response

    @own.get("/me", response_model=AgentMe)
    async def me(request: Request) -> AgentMe:
        principal = _agent_principal(request)
        async with sessions() as session:
            row = (
                await session.execute(select(agents).where(agents.c.id == principal.agent_id))
            ).first()
        if row is None:
            raise HTTPException(status_code=401, detail="not logged in")
        return _me(row)

    @own.post("/password", status_code=204)
    async def change_password(body: PasswordChange, request: Request) -> Response:
        principal = _agent_principal(request)
        assert principal.agent_id is not None and principal.session is not None
        async with sessions() as session:
            stored = await session.scalar(
                select(agents.c.password_hash).where(agents.c.id == principal.agent_id)
            )
        if not await passwords.verify_password_async(stored, body.current_password):
            raise HTTPException(status_code=403, detail="the current password is wrong")
        new_hash = await _new_hash(body.new_password)
        await _store_hash(sessions, principal.agent_id, new_hash)
        await store.revoke_agent(principal.agent_id, keep=principal.session.token_hash)
        log.info("agent_password_changed", agent_id=principal.agent_id)
        return Response(status_code=204)

    @admin.put("/agents/{agent_id}/credentials", response_model=CredentialsOut)
    async def set_credentials(agent_id: int, body: CredentialsIn) -> CredentialsOut:
        """An administrator sets the agent's login and/or password (the agent's sessions
        end when the password changes)."""
        return await set_agent_credentials(sessions, store, agent_id, body)

    return public, own, admin


async def set_agent_credentials(
    sessions: async_sessionmaker[AsyncSession],
    store: AgentSessions,
    agent_id: int,
    body: CredentialsIn,
) -> CredentialsOut:
    """Set an agent's login and/or password (the API's and the console's path): 422 (bad
    login, weak password, nothing given), 404, 409 (login taken); a new password ends
    the agent's sessions."""
    values: dict[str, Any] = {}
    if "login" in body.model_fields_set:
        values["login"] = normalise_login(body.login) if body.login else None
    if body.password is not None:
        values["password_hash"] = await _new_hash(body.password)
        values["password_changed_at"] = datetime.now(UTC)
    if not values:
        raise HTTPException(status_code=422, detail="give a login or a password")
    try:
        async with sessions() as session, session.begin():
            row = (
                await session.execute(
                    update(agents).where(agents.c.id == agent_id).values(**values).returning(agents)
                )
            ).first()
    except IntegrityError as exc:
        refused(exc, f"an agent with login {values.get('login')!r}")
    if row is None:
        not_found("agent", agent_id)
    if "password_hash" in values:
        await store.revoke_agent(agent_id)
    log.info("agent_credentials_set", agent_id=agent_id, fields=sorted(values))
    return CredentialsOut(
        agent_id=agent_id,
        login=row.login,
        has_password=row.password_hash is not None,
        password_changed_at=row.password_changed_at,
    )


async def _new_hash(password: str) -> str:
    try:
        return await passwords.hash_password_async(password)
    except passwords.WeakPassword as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


async def _store_hash(
    sessions: async_sessionmaker[AsyncSession], agent_id: int, password_hash: str
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(agents)
            .where(agents.c.id == agent_id)
            .values(password_hash=password_hash, password_changed_at=datetime.now(UTC))
        )


def set_session_cookie(response: Response, token: str, settings: TicketCoreSettings) -> None:
    set_cookie(response, COOKIE_NAME, token, int(settings.session_max_age_seconds), settings)


def clear_session_cookie(response: Response, settings: TicketCoreSettings) -> None:
    clear_cookie(response, COOKIE_NAME, settings)


async def sign_in(
    sessions: async_sessionmaker[AsyncSession],
    store: AgentSessions,
    guard: LoginGuard,
    login: str,
    password: str,
) -> tuple[str, Any]:
    """Check a login (lockout, argon2) and open a session: (token, agent row). Refusals
    are HTTPExceptions: 429 locked (with Retry-After), 401 wrong, 503 no Redis. Shared by
    the API login and the console's login form."""

    async def find(name: str) -> Account[Any] | None:
        async with sessions() as session:
            row = (
                await session.execute(
                    select(agents).where(or_(agents.c.login == name, agents.c.email == name))
                )
            ).first()
        return None if row is None else Account(row, row.password_hash, bool(row.active))

    row = await checked_login(
        guard, login, password, find, log=log, failed_event="agent_login_failed"
    )
    if row.password_hash and passwords.needs_rehash(row.password_hash):
        await _store_hash(sessions, row.id, await passwords.hash_password_async(password))
    token, _ = await store.create(int(row.id), str(row.role))
    log.info("agent_logged_in", agent_id=row.id)
    return token, row
