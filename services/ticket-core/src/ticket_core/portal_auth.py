"""Portal logins of contacts: sessions, login/logout, and the dependency that gives a
portal route its contact.

Sessions live in Redis like agents' (``agent_sessions.AgentSessions``) under their own
prefix ``helpdesk:portal-session:`` (``agent_id`` holds the contact's id, ``role`` the
access level), so a portal token is unknown to the agents' API and WebSocket and an
agent's token is unknown to the portal. Cookie ``helpdesk_portal_session`` (HttpOnly,
SameSite=Lax) or ``Authorization: Bearer``. Lockout: ``LoginGuard`` with the key prefix
``portal:`` (failures per login name).
"""

# No ``from __future__ import annotations``: route signatures name a local dependency.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from helpdesk_common.agent_sessions import AgentSessions
from helpdesk_common.logs import get_logger
from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import passwords
from . import portal_repo as repo
from .access import _check_origin as check_origin
from .desk_config import DeskConfig
from .login_guard import LoginGuard
from .password_login import Account, checked_login
from .portal_repo import PortalUser
from .session_cookie import clear_cookie, set_cookie
from .settings import TicketCoreSettings

log = get_logger(__name__)
PORTAL_SESSION_PREFIX = "helpdesk:portal-session:"
PORTAL_COOKIE = "helpdesk_portal_session"


class PortalLoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    login: str = Field(min_length=1, max_length=254, description="The contact's email.")
    password: str = Field(min_length=1, max_length=passwords.MAX_LENGTH)


class PortalMe(BaseModel):
    contact_id: int
    name: str
    email: str
    access: str
    company_id: int | None


class PortalLoginOut(BaseModel):
    token: str
    expires_in: int
    contact: PortalMe


def me_of(user: PortalUser) -> PortalMe:
    return PortalMe(
        contact_id=user.contact_id,
        name=user.name,
        email=user.email,
        access=user.access,
        company_id=user.company_id,
    )


def portal_store(redis: Redis, config: DeskConfig) -> AgentSessions:
    return AgentSessions(
        redis,
        idle_seconds=config.portal_session_idle_seconds,
        max_age_seconds=config.portal_session_max_age_seconds,
        key_prefix=PORTAL_SESSION_PREFIX,
    )


def _token(request: Request) -> tuple[str | None, bool]:
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(401, "use 'Authorization: Bearer <token>'")
        return token.strip(), False
    return request.cookies.get(PORTAL_COOKIE), True


async def portal_sign_in(
    sessions: async_sessionmaker[AsyncSession],
    store: AgentSessions,
    guard: LoginGuard,
    login: str,
    password: str,
) -> tuple[str, PortalUser]:
    """Check a contact's login (lockout first, argon2) and open a portal session: the
    token and the contact. Refusals are ``HTTPException`` 429 (locked, ``Retry-After``),
    401 (wrong login or password, or no active account) or 503 (Redis down). Shared by
    the API's login and the portal pages' login form."""

    async def find(name: str) -> Account[dict[str, Any]] | None:
        async with sessions() as db:
            found = await repo.account_by_login(db, name)
        if found is None:
            return None
        return Account(found, found["password_hash"], bool(found["active"]))

    account = await checked_login(
        guard, login, password, find, log=log, failed_event="portal_login_failed"
    )
    async with sessions() as db:
        user = await repo.user_of(db, int(account["contact_id"]))
    if user is None:  # pragma: no cover - deactivated between the two reads
        raise HTTPException(401, "wrong login or password")
    token, _ = await store.create(user.contact_id, user.access)
    log.info("portal_logged_in", contact_id=user.contact_id)
    return token, user


def set_portal_cookie(
    response: Response, token: str, settings: TicketCoreSettings, store: AgentSessions
) -> None:
    set_cookie(response, PORTAL_COOKIE, token, int(store.max_age_seconds), settings)


def clear_portal_cookie(response: Response, settings: TicketCoreSettings) -> None:
    clear_cookie(response, PORTAL_COOKIE, settings)


class PortalAuth:
    """The FastAPI dependency of portal routes: the logged-in contact, or 401."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], store: AgentSessions) -> None:
        self._sessions = sessions
        self.store = store

    async def __call__(self, request: Request) -> PortalUser:
        token, via_cookie = _token(request)
        if not token:
            raise HTTPException(401, "log in to the portal", headers={"WWW-Authenticate": "Bearer"})
        try:
            session = await self.store.lookup(token)
        except RedisError as exc:
            raise HTTPException(503, "the session store is unavailable") from exc
        if session is None:
            raise HTTPException(401, "the session has ended: log in again")
        async with self._sessions() as db:
            user = await repo.user_of(db, session.agent_id)
        if user is None:
            await self.store.revoke_agent(session.agent_id)
            raise HTTPException(401, "portal access has been withdrawn")
        if via_cookie:
            check_origin(request)
        return user


def portal_auth_router(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    auth: PortalAuth,
    guard: LoginGuard,
) -> APIRouter:
    """Public: login and logout; ``/me`` checks the session itself."""
    store = auth.store
    router = APIRouter(prefix="/api/v1/portal/auth", tags=["portal"])

    @router.post("/login", response_model=PortalLoginOut)
    async def login(body: PortalLoginIn, response: Response) -> PortalLoginOut:
        token, user = await portal_sign_in(sessions, store, guard, body.login, body.password)
        set_portal_cookie(response, token, settings, store)
        return PortalLoginOut(token=token, expires_in=store.idle_seconds, contact=me_of(user))

    @router.post("/logout", status_code=204)
    async def logout(request: Request) -> Response:
        response = Response(status_code=204)
        clear_portal_cookie(response, settings)
        token, _ = _token(request)
        if token:
            await store.revoke(token)
        return response

    @router.get("/me", response_model=PortalMe)
    async def me(user: Annotated[PortalUser, Depends(auth)]) -> PortalMe:
        return me_of(user)

    return router
