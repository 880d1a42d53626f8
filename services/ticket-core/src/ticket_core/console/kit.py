"""What every console page module shares: the route class and the per-request helpers.

``ConsoleKit`` is built once by ``wiring.console_routers``; a page module takes it and
returns an ``APIRouter`` made by ``kit.router()``. The route class adds the security
headers to every response, turns a missing session into the login page (HTMX requests
get ``HX-Redirect``) and renders errors as pages, never as a bare 500.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from helpdesk_common.blobstore import BlobStore
from helpdesk_common.logs import get_logger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import FormData
from starlette.responses import Response

from .. import ticket_visibility
from ..access import AgentAccess
from ..models_org import AgentRole
from ..outbox import OutboxRelay
from ..page_routes import page_route_class
from ..replies import ReplySettings
from ..settings import TicketCoreSettings
from .branding_view import BrandingView
from .console_auth import ConsoleAgent, NotLoggedIn, console_agent
from .forms import PREFIX, ConsoleError
from .pages import render
from .security import CSRF_FIELD, CSRF_HEADER, same_token, security_headers

log = get_logger(__name__)


def console_route_class(push_url: str | None, looks: BrandingView | None = None) -> type[APIRoute]:
    async def error_page(request: Request, status: int, detail: str) -> Response:
        return render(
            request,
            "error.html",
            {"status": status, "detail": detail},
            agent=getattr(request.state, "console_agent", None),
            push_url=push_url,
            status_code=status,
            branding=looks.current if looks else None,
        )

    return page_route_class(
        prefix=PREFIX,
        headers=security_headers(push_url),
        not_logged_in=NotLoggedIn,
        error_page=error_page,
        before=looks.refresh if looks is not None else None,  # the branding pages show
    )


def read_only_notice(own_number: int) -> str:
    return f"read-only: linked to your ticket #{own_number}"


@dataclass(frozen=True)
class ConsoleKit:
    settings: TicketCoreSettings
    sessions: async_sessionmaker[AsyncSession]
    access: AgentAccess
    relay: OutboxRelay
    blobs: BlobStore | None = None  # reply uploads, branding images
    looks: BrandingView | None = field(default=None, compare=False)

    @property
    def push_url(self) -> str | None:
        return self.settings.console_push_url

    @property
    def reply_settings(self) -> ReplySettings:
        return ReplySettings(self.settings.email_domain, self.settings.reply_email_account)

    @property
    def auto_close_after(self) -> timedelta:
        return timedelta(seconds=self.settings.auto_close_after_seconds)

    def router(self) -> APIRouter:
        """A router under ``/console`` whose routes get the console's route class."""
        return APIRouter(prefix=PREFIX, route_class=console_route_class(self.push_url, self.looks))

    async def logged_in(self, request: Request) -> ConsoleAgent:
        """The agent of this request; no live session means the login page."""
        agent = await console_agent(request, self.access, self.sessions)
        request.state.console_agent = agent
        return agent

    async def administrator(self, request: Request) -> ConsoleAgent:
        """The logged-in agent, who must be an administrator (settings pages): else 403."""
        agent = await self.logged_in(request)
        if agent.role is not AgentRole.ADMINISTRATOR:
            raise ConsoleError(status_code=403, detail="only administrators see the settings")
        return agent

    async def lead_or_administrator(self, request: Request) -> ConsoleAgent:
        """The logged-in agent, who must not be a plain specialist (dashboard, reports)."""
        agent = await self.logged_in(request)
        if agent.role is AgentRole.SPECIALIST:
            raise ConsoleError(status_code=403, detail="this page is for leads and administrators")
        return agent

    def page(
        self,
        request: Request,
        name: str,
        context: dict[str, Any],
        agent: ConsoleAgent | None,
        status_code: int = 200,
    ) -> Response:
        return render(
            request,
            name,
            context,
            agent=agent,
            push_url=self.push_url,
            status_code=status_code,
            branding=self.looks.current if self.looks else None,
        )

    async def checked_form(self, request: Request, agent: ConsoleAgent) -> FormData:
        """The POSTed form, after the CSRF check (header or hidden field): else 403."""
        form = await request.form()
        given = request.headers.get(CSRF_HEADER) or str(form.get(CSRF_FIELD) or "")
        if not same_token(agent.csrf, given):
            raise ConsoleError(status_code=403, detail="the form is stale: reload the page")
        return form

    async def may_read(self, agent: ConsoleAgent, ticket_id: int) -> None:
        """404 unless the agent may read the ticket: a specialist, the ones that concern
        them and the tickets one link away from those (the REST API's read rule)."""
        if agent.sees_every_ticket:
            return
        async with self.sessions() as db:
            if not await ticket_visibility.can_read(db, agent.id, ticket_id):
                raise ConsoleError(status_code=404, detail=f"ticket {ticket_id} not found")

    async def may_change(self, agent: ConsoleAgent, ticket_id: int) -> None:
        """Unless the agent may change the ticket (reply, note, fields, links): 403 when
        they may only read it (a specialist, one link away from their own), else 404. A
        specialist changes only the tickets that concern them (the REST API's write rule)."""
        if agent.sees_every_ticket:
            return
        async with self.sessions() as db:
            if await ticket_visibility.can_see(db, agent.id, ticket_id):
                return
            linked_to = await ticket_visibility.own_ticket_linked_to(db, agent.id, ticket_id)
        if linked_to is not None:
            raise ConsoleError(status_code=403, detail=read_only_notice(linked_to))
        raise ConsoleError(status_code=404, detail=f"ticket {ticket_id} not found")

    async def read_only_for(self, agent: ConsoleAgent, ticket_id: int) -> int | None:
        """For a ticket the agent may read (``may_read``) but not change: the number of
        their own ticket it is linked to (the page is shown read-only); else None."""
        if agent.sees_every_ticket:
            return None
        async with self.sessions() as db:
            if await ticket_visibility.can_see(db, agent.id, ticket_id):
                return None
            return await ticket_visibility.own_ticket_linked_to(db, agent.id, ticket_id)

    async def may_see(self, agent: ConsoleAgent, ticket_id: int) -> None:
        """The write check (``may_change``); kept for the pages that call it by this name."""
        await self.may_change(agent, ticket_id)
