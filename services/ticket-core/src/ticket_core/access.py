"""Who is calling and what their role lets them do, for every API call.

Callers, in the order they are recognised:

- ``Authorization: Bearer <TICKET_CORE_API_TOKEN>``: a trusted service (tools, tests,
  other services). It may do everything; ``X-Agent-Id`` names the acting agent.
- ``Authorization: Bearer <session token>`` or the ``helpdesk_session`` cookie: a
  logged-in agent (``agent_sessions``), with the role stored on the agent (read on every
  request, so a role change or a deactivation takes effect at once).
- nothing, only when ``TICKET_CORE_ALLOW_ANONYMOUS=true`` and no API token is set (the
  test system): a trusted service. By default such a request is 401.

Anything else is 401. Every router is included in ``app.py`` behind one router-class
dependency (``AgentAccess.settings_router`` and so on); a router that is not is reached
through ``api_common.bearer_auth`` and is for administrators only.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request
from helpdesk_common.agent_sessions import COOKIE_NAME, AgentSession, AgentSessions
from helpdesk_common.logs import get_logger
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import ticket_visibility
from .models_org import AgentRole, agents
from .settings import TicketCoreSettings

log = get_logger(__name__)

_READS = frozenset({"GET", "HEAD", "OPTIONS"})
INTERNAL_PREFIX = "/internal/"  # service-to-service routes: their own internal token


@dataclass(frozen=True)
class Principal:
    """The caller. ``agent_id``: the session's agent, or ``X-Agent-Id`` for a service."""

    service: bool
    role: AgentRole
    agent_id: int | None
    session: AgentSession | None = None
    via_cookie: bool = False

    @property
    def sees_every_ticket(self) -> bool:
        return self.service or self.role is not AgentRole.SPECIALIST


def principal_of(request: Request) -> Principal:
    """The principal a router-class dependency resolved for this request."""
    found = getattr(request.state, "principal", None)
    if not isinstance(found, Principal):  # pragma: no cover - a wiring mistake
        raise HTTPException(status_code=500, detail="route without an access class")
    return found


def _header_agent(request: Request) -> int | None:
    raw = request.headers.get("x-agent-id")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail="X-Agent-Id must be an integer") from exc


class AgentAccess:
    def __init__(
        self,
        settings: TicketCoreSettings,
        sessions: async_sessionmaker[AsyncSession],
        store: AgentSessions,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self.store = store
        self.on_agent_change: list[Callable[[int], Awaitable[None]]] = []

    # --- who is calling -------------------------------------------------------------

    async def authenticate(self, request: Request) -> Principal:
        cached = getattr(request.state, "principal", None)
        if isinstance(cached, Principal):
            return cached
        principal = await self._resolve(request)
        request.state.principal = principal
        return principal

    async def _resolve(self, request: Request) -> Principal:
        authorization = request.headers.get("authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                raise _unauthorised("use 'Authorization: Bearer <token>'")
            api_token = self._settings.api_token
            if api_token and secrets.compare_digest(token.encode(), api_token.encode()):
                return Principal(True, AgentRole.ADMINISTRATOR, _header_agent(request))
            return await self._agent(request, token, via_cookie=False)
        cookie = request.cookies.get(COOKIE_NAME)
        if cookie:
            principal = await self._agent(request, cookie, via_cookie=True)
            _check_origin(request)
            return principal
        if self._settings.api_token is None and self._settings.allow_anonymous:
            return Principal(True, AgentRole.ADMINISTRATOR, _header_agent(request))
        raise _unauthorised("log in, or give the API token")

    async def session_of(self, token: str) -> AgentSession | None:
        try:
            return await self.store.lookup(token)
        except RedisError as exc:
            log.warning("session_store_unavailable", error=type(exc).__name__)
            raise HTTPException(status_code=503, detail="the session store is unavailable") from exc

    async def _agent(self, request: Request, token: str, *, via_cookie: bool) -> Principal:
        session = await self.session_of(token)
        if session is None:
            raise _unauthorised("the session has ended or never existed: log in again")
        async with self._sessions() as db:
            row = (
                await db.execute(
                    select(agents.c.role, agents.c.active).where(agents.c.id == session.agent_id)
                )
            ).first()
        if row is None or not row.active:
            await self.store.revoke_agent(session.agent_id)
            raise _unauthorised("the agent is deactivated")
        named = _header_agent(request)
        if named is not None and named != session.agent_id:
            raise HTTPException(status_code=403, detail="X-Agent-Id names another agent")
        return Principal(False, AgentRole(row.role), session.agent_id, session, via_cookie)

    # --- router classes (FastAPI dependencies) --------------------------------------

    async def settings_router(self, request: Request) -> None:
        """Settings: every agent reads them, administrators change them."""
        if _internal(request):
            return
        principal = await self.authenticate(request)
        if request.method not in _READS:
            _require(principal, {AgentRole.ADMINISTRATOR}, "change settings")

    async def directory_router(self, request: Request) -> None:
        """Companies and the like: every agent reads, administrators and leads change."""
        if _internal(request):
            return
        principal = await self.authenticate(request)
        if request.method not in _READS:
            _require(principal, {AgentRole.ADMINISTRATOR, AgentRole.LEAD_SPECIALIST}, "change this")

    async def ticket_router(self, request: Request) -> None:
        """Ticket work: every role; a specialist only on the tickets that concern them
        (a ``{ticket_id}`` in the path they may not see is 404). Lists filter with
        ``ticket_filter``; bodies naming tickets with ``visible_ticket_ids``."""
        if _internal(request):
            return
        principal = await self.authenticate(request)
        raw = request.path_params.get("ticket_id")
        if raw is None or principal.sees_every_ticket:
            return
        try:
            ticket_id = int(raw)
        except (TypeError, ValueError):
            return  # the route's own validation answers 422
        assert principal.agent_id is not None
        # reads reach the tickets linked to the specialist's own (ticket_visibility)
        reading = request.method in _READS
        check = ticket_visibility.can_read if reading else ticket_visibility.can_see
        async with self._sessions() as db:
            if not await check(db, principal.agent_id, ticket_id):
                raise HTTPException(status_code=404, detail=f"ticket {ticket_id} not found")

    async def agent_router(self, request: Request) -> None:
        """Any authenticated caller (the agent's own things: me, password)."""
        if not _internal(request):
            await self.authenticate(request)

    async def admin_router(self, request: Request) -> None:
        """Administrators only (and services): the class of routers not given another."""
        if getattr(request.state, "access_checked", False) or _internal(request):
            return
        principal = await self.authenticate(request)
        _require(principal, {AgentRole.ADMINISTRATOR}, "use this endpoint")

    async def public_router(self, request: Request) -> None:
        """No authentication (login)."""
        request.state.access_checked = True

    def protect(
        self, router: APIRouter, access_class: Callable[[Request], Awaitable[None]]
    ) -> APIRouter:
        """``router`` behind one router class; ``api_common.bearer_auth`` then lets it through."""

        async def checked(request: Request) -> None:
            await access_class(request)
            request.state.access_checked = True

        wrapper = APIRouter(dependencies=[Depends(checked)])
        wrapper.include_router(router)
        return wrapper

    # --- what a principal sees -------------------------------------------------------

    @staticmethod
    def ticket_filter(principal: Principal) -> list[Any]:
        """WHERE clauses on ``tickets`` limiting a list to what the caller may read."""
        if principal.sees_every_ticket or principal.agent_id is None:
            return []
        return [ticket_visibility.readable_by(principal.agent_id)]

    async def visible_ticket_ids(self, principal: Principal, ticket_ids: list[int]) -> set[int]:
        if principal.sees_every_ticket:
            return set(ticket_ids)
        assert principal.agent_id is not None
        async with self._sessions() as db:
            return await ticket_visibility.visible_ids(db, principal.agent_id, ticket_ids)

    # --- keeping sessions in step with the agents -------------------------------------

    async def agent_changed(self, row: dict[str, Any]) -> None:
        """After an agent row changed: a deactivated agent's sessions end; a new role is
        written onto the live sessions (the gateway reads roles from there)."""
        agent_id = int(row["id"])
        try:
            if not row["active"]:
                ended = await self.store.revoke_agent(agent_id)
                log.info("agent_sessions_revoked", agent_id=agent_id, sessions=ended)
            else:
                await self.store.set_role(agent_id, str(row["role"]))
        except RedisError as exc:  # ticket-core also checks the row on every request
            log.warning("session_store_unavailable", error=type(exc).__name__)


def session_store(redis: Redis, settings: TicketCoreSettings) -> AgentSessions:
    return AgentSessions(
        redis,
        idle_seconds=settings.session_idle_seconds,
        max_age_seconds=settings.session_max_age_seconds,
    )


def _internal(request: Request) -> bool:
    return request.url.path.startswith(INTERNAL_PREFIX)


def _require(principal: Principal, roles: set[AgentRole], what: str) -> None:
    if principal.service or principal.role in roles:
        return
    raise HTTPException(status_code=403, detail=f"a {principal.role.value} may not {what}")


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def _check_origin(request: Request) -> None:
    """Cookie-authenticated changes must come from our own pages (SameSite=Lax covers
    cross-site forms; this also refuses other origins of the same site)."""
    if request.method in _READS:
        return
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        if origin == "null":
            raise HTTPException(status_code=403, detail="cross-origin request refused")
        return
    if urlsplit(origin).netloc != request.headers.get("host"):
        raise HTTPException(status_code=403, detail="cross-origin request refused")
