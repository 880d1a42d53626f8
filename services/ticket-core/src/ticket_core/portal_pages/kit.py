"""What every portal page module shares: the route class and the per-request helpers.

``PortalKit`` is built once by ``wiring.portal_page_routers``; a page module takes it and
returns an ``APIRouter`` made by ``kit.router()``. The route class adds the console's
security headers to every response, turns a missing portal session into the portal's login
page (HTMX requests get ``HX-Redirect``) and renders errors as pages, never a bare 500.

Only the ``helpdesk_portal_session`` cookie logs a contact in (never a bearer header, never
the agents' ``helpdesk_session``): the sessions live under the portal's own Redis prefix,
so an agent's token is unknown here and a contact's token is unknown to the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from helpdesk_common.blobstore import BlobStore
from helpdesk_common.logs import get_logger
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import FormData
from starlette.responses import Response

from .. import portal_repo
from ..console.security import same_token, security_headers
from ..desk_config import DeskConfig
from ..desk_settings import Branding
from ..desk_settings_repo import branding
from ..login_guard import LoginGuard
from ..outbox import OutboxRelay
from ..page_routes import page_route_class
from ..portal_auth import PORTAL_COOKIE
from ..portal_repo import PortalUser
from ..settings import TicketCoreSettings
from .forms import PREFIX, PortalError
from .pages import render
from .security import CSRF_FIELD, CSRF_HEADER, csrf_token

log = get_logger(__name__)


class NotLoggedIn(Exception):
    """No live portal session: the portal answers with its login page."""


@dataclass(frozen=True)
class Visitor:
    """The logged-in contact of a portal request."""

    user: PortalUser
    token: str
    csrf: str

    @property
    def company_access(self) -> bool:
        return self.user.access == "company" and self.user.company_id is not None


@dataclass(frozen=True)
class PortalKit:
    settings: TicketCoreSettings
    config: DeskConfig
    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay
    blobs: BlobStore
    store: Any  # helpdesk_common.agent_sessions.AgentSessions with the portal's prefix
    guard: LoginGuard

    @property
    def reopen_window(self) -> timedelta:
        return timedelta(days=self.settings.reopen_window_days)

    @property
    def auto_close_after(self) -> timedelta:
        return timedelta(seconds=self.settings.auto_close_after_seconds)

    def route_class(self) -> type[APIRoute]:
        return page_route_class(
            prefix=PREFIX,
            headers=security_headers(None),
            not_logged_in=NotLoggedIn,
            error_page=self.error_page,
        )

    def router(self) -> APIRouter:
        """A router under ``/portal`` whose routes get the portal's route class."""
        return APIRouter(prefix=PREFIX, route_class=self.route_class(), include_in_schema=False)

    async def logged_in(self, request: Request) -> Visitor:
        """The contact of this request; no live portal session means the login page."""
        token = request.cookies.get(PORTAL_COOKIE)
        if not token:
            raise NotLoggedIn
        try:
            session = await self.store.lookup(token)
        except RedisError as exc:
            raise PortalError(status_code=503, detail="please try again in a moment") from exc
        if session is None:
            raise NotLoggedIn
        async with self.sessions() as db:
            user = await portal_repo.user_of(db, session.agent_id)
        if user is None:  # access withdrawn
            await self.store.revoke_agent(session.agent_id)
            raise NotLoggedIn
        visitor = Visitor(user, token, csrf_token(token))
        request.state.portal_visitor = visitor
        return visitor

    async def checked_form(self, request: Request, visitor: Visitor) -> FormData:
        """The POSTed form, after the CSRF check (header or hidden field): else 403."""
        form = await request.form()
        given = request.headers.get(CSRF_HEADER) or str(form.get(CSRF_FIELD) or "")
        if not same_token(visitor.csrf, given):
            raise PortalError(status_code=403, detail="the form is stale: reload the page")
        return form

    async def branding(self) -> Branding:
        try:
            async with self.sessions() as db:
                return await branding(db)
        except Exception:  # branding is decoration: never fail a page (or an error page) on it
            log.warning("portal_branding_unavailable", exc_info=True)
            return Branding()

    async def page(
        self,
        request: Request,
        name: str,
        context: dict[str, Any],
        visitor: Visitor | None,
        status_code: int = 200,
    ) -> Response:
        brand = await self.branding()
        base = {
            "visitor": visitor,
            "brand": brand,
            "logo_url": f"/branding/logo?v={brand.logo.sha256[:16]}" if brand.logo else None,
            "favicon_url": (
                f"/branding/favicon?v={brand.favicon.sha256[:16]}" if brand.favicon else None
            ),
        }
        return render(request, name, {**base, **context}, status_code)

    async def error_page(self, request: Request, status: int, detail: str) -> Response:
        visitor = getattr(request.state, "portal_visitor", None)
        context = {"status": status, "detail": detail}
        return await self.page(request, "error.html", context, visitor, status)
