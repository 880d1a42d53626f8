"""The console's routes: login, logout, inbox, ticket page and its actions, static files.

Every response carries the security headers (``ConsoleRoute``); a request without a live
session is sent to the login page (HTMX requests get ``HX-Redirect``); every POST checks
the CSRF token. Ticket access is the REST API's: a specialist sees the tickets that
concern them (``ticket_visibility``), others see all.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from helpdesk_common.blobstore import BlobStore
from helpdesk_common.logs import get_logger
from helpdesk_common.records import Channel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import FormData
from starlette.responses import FileResponse, RedirectResponse, Response

from .. import ticket_fields, ticket_visibility
from .. import workflow_repo as wrepo
from ..access import AgentAccess
from ..api import ticket_detail
from ..audit import Actor
from ..auth_api import clear_session_cookie, set_session_cookie, sign_in
from ..canned import RenderValues, TemplateRefused
from ..canned import render as render_canned
from ..collab_repo import open_escalation
from ..escalation import EscalationConflict, escalate
from ..inbound_rows import SENDER_NAME
from ..login_guard import LoginGuard
from ..outbox import OutboxRelay
from ..replies import ReplyError, ReplyRequest, ReplySettings, TicketNotFound, add_reply
from ..settings import TicketCoreSettings
from ..workflow import KEEP, ChangeRequest, WorkflowError, apply_changes
from . import inbox_repo, phone_tickets, ticket_repo, views
from .console_auth import ConsoleAgent, NotLoggedIn, console_agent
from .forms import (
    PREFIX,
    ConsoleError,
    ids,
    inbox_query,
    int_field,
    only_changed,
    query_string,
    safe_next,
)
from .pages import STATIC, render
from .security import (
    CSRF_FIELD,
    CSRF_HEADER,
    LOGIN_CSRF_COOKIE,
    new_login_token,
    same_token,
    security_headers,
)

log = get_logger(__name__)
_STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_MAX_TEXT = 100_000


def _login_redirect(request: Request) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    location = f"{PREFIX}/login?" + urlencode({"next": target})
    if request.headers.get("hx-request"):
        return Response(status_code=200, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def console_route_class(push_url: str | None) -> type[APIRoute]:
    headers = security_headers(push_url)

    class ConsoleRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            original = super().get_route_handler()

            async def handler(request: Request) -> Response:
                try:
                    response = await original(request)
                except NotLoggedIn:
                    response = _login_redirect(request)
                except RequestValidationError:
                    response = render(
                        request,
                        "error.html",
                        {"status": 422, "detail": "the request is malformed"},
                        agent=None,
                        push_url=push_url,
                        status_code=422,
                    )
                except HTTPException as exc:
                    response = render(
                        request,
                        "error.html",
                        {"status": exc.status_code, "detail": str(exc.detail)},
                        agent=getattr(request.state, "console_agent", None),
                        push_url=push_url,
                        status_code=exc.status_code,
                    )
                except Exception:
                    log.exception("console_page_failed", path=request.url.path)
                    response = render(
                        request,
                        "error.html",
                        {"status": 500, "detail": "something went wrong on our side"},
                        agent=None,
                        push_url=push_url,
                        status_code=500,
                    )
                for name, value in headers.items():
                    if name == "Cache-Control":
                        response.headers.setdefault(name, value)  # static files cache
                    else:
                        response.headers[name] = value
                return response

            return handler

    return ConsoleRoute


def console_router(
    settings: TicketCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    blobs: BlobStore,
    access: AgentAccess,
    guard: LoginGuard,
) -> APIRouter:
    del blobs  # attachments are downloaded through the REST API's route
    push_url = settings.console_push_url
    reply_settings = ReplySettings(settings.email_domain, settings.reply_email_account)
    auto_close_after = timedelta(seconds=settings.auto_close_after_seconds)
    router = APIRouter(prefix=PREFIX, route_class=console_route_class(push_url))

    async def logged_in(request: Request) -> ConsoleAgent:
        agent = await console_agent(request, access, sessions)
        request.state.console_agent = agent
        return agent

    def page(
        request: Request,
        name: str,
        context: dict[str, Any],
        agent: ConsoleAgent | None,
        status_code: int = 200,
    ) -> Response:
        return render(
            request, name, context, agent=agent, push_url=push_url, status_code=status_code
        )

    async def checked_form(request: Request, agent: ConsoleAgent) -> FormData:
        form = await request.form()
        given = request.headers.get(CSRF_HEADER) or str(form.get(CSRF_FIELD) or "")
        if not same_token(agent.csrf, given):
            raise ConsoleError(status_code=403, detail="the form is stale: reload the page")
        return form

    async def may_see(agent: ConsoleAgent, ticket_id: int) -> None:
        if agent.sees_every_ticket:
            return
        async with sessions() as db:
            if not await ticket_visibility.can_see(db, agent.id, ticket_id):
                raise ConsoleError(status_code=404, detail=f"ticket {ticket_id} not found")

    # --- static files ---------------------------------------------------------------

    names = {p.name for p in STATIC.iterdir() if p.suffix in _STATIC_TYPES}

    @router.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in names:
            raise ConsoleError(status_code=404, detail="no such file")
        path = STATIC / name
        return FileResponse(
            path,
            media_type=_STATIC_TYPES[path.suffix],
            headers={"Cache-Control": "public, max-age=300"},
        )

    # --- login ----------------------------------------------------------------------

    def login_page(
        request: Request, error: str | None = None, status_code: int = 200, login: str = ""
    ) -> Response:
        token = new_login_token()
        response = page(
            request,
            "login.html",
            {
                "error": error,
                "login_csrf": token,
                "next": safe_next(request.query_params.get("next")),
                "login": login,
            },
            None,
            status_code,
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            max_age=3600,
            httponly=True,
            samesite="strict",
            secure=settings.session_cookie_secure,
            path=f"{PREFIX}/login",
        )
        return response

    @router.get("/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        return login_page(request)

    @router.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        if not same_token(
            request.cookies.get(LOGIN_CSRF_COOKIE, ""), str(form.get(CSRF_FIELD) or "")
        ):
            return login_page(request, "The form expired: please try again.", 403)
        name = str(form.get("login") or "")[:254]
        password = str(form.get("password") or "")[:1024]
        if not name.strip() or not password:
            return login_page(request, "Enter your login and password.", 422, name)
        try:
            token, _ = await sign_in(sessions, access.store, guard, name, password)
        except HTTPException as exc:
            return login_page(request, str(exc.detail).capitalize() + ".", exc.status_code, name)
        response = RedirectResponse(safe_next(str(form.get("next") or "")), status_code=303)
        set_session_cookie(response, token, settings)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path=f"{PREFIX}/login")
        return response

    @router.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        agent = await logged_in(request)
        await checked_form(request, agent)
        assert agent.principal.session is not None
        await access.store.revoke(request.cookies.get("helpdesk_session", ""))
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        clear_session_cookie(response, settings)
        return response

    # --- inbox ----------------------------------------------------------------------

    async def inbox_context(agent: ConsoleAgent, params: Mapping[str, Any]) -> dict[str, Any]:
        query = inbox_query(params)
        now = datetime.now(UTC)
        async with sessions() as db:
            total, rows = await inbox_repo.inbox_page(
                db, query, agent.id, sees_all=agent.sees_every_ticket, now=now
            )
            catalogue = await ticket_repo.catalogue(db)
        for row in rows:
            row["bold"] = views.is_bold(row)
            row["sla"] = views.sla_countdown(row, now)
        pages = {
            "previous": query_string(query, offset=max(0, query.offset - query.limit))
            if query.offset > 0
            else None,
            "next": query_string(query, offset=query.offset + query.limit)
            if query.offset + query.limit < total
            else None,
        }
        return {
            "query": query,
            "query_string": query_string(query),
            "rows": rows,
            "total": total,
            "pages": pages,
            "catalogue": catalogue,
            "categories": inbox_repo.CATEGORIES,
            "sorts": inbox_repo.SORTS,
            "channels": views.CHANNELS,
        }

    @router.get("/", include_in_schema=False)
    async def inbox(request: Request) -> Response:
        agent = await logged_in(request)
        context = await inbox_context(agent, request.query_params)
        return page(request, "inbox.html", context, agent)

    @router.get("/inbox", include_in_schema=False)
    async def inbox_rows(request: Request) -> Response:
        """The results block alone (HTMX: filters, pages, live refresh)."""
        agent = await logged_in(request)
        context = await inbox_context(agent, request.query_params)
        response = page(request, "_inbox_results.html", context, agent)
        if request.headers.get("hx-request") and not request.headers.get("x-console-refresh"):
            qs = context["query_string"]
            response.headers["HX-Push-Url"] = f"{PREFIX}/" + (f"?{qs}" if qs else "")
        return response

    # --- the ticket page ------------------------------------------------------------

    async def ticket_context(agent: ConsoleAgent, ticket_id: int) -> dict[str, Any]:
        await may_see(agent, ticket_id)
        async with sessions() as db:
            ticket = await ticket_detail(db, ticket_id)  # 404 when missing
            await ticket_fields.hide_attributes(db, [ticket], agent.id)
            row = {**ticket.model_dump(), **await ticket_repo.rating_of(db, ticket_id)}
            catalogue = await ticket_repo.catalogue(db, with_companies=False)
            authors = {m.author_agent_id for m in ticket.messages or [] if m.author_agent_id}
            names = await ticket_repo.agent_names(db, authors)
            contact = await ticket_repo.contact_of(db, ticket.contact_id)
            canned = await ticket_repo.canned_for(db, agent.id)
            similar = await ticket_repo.similar(
                db,
                {"id": ticket.id, "contact_id": ticket.contact_id},
                agent.id,
                agent.sees_every_ticket,
            )
            escalation = await open_escalation(db, ticket_id)
        thread = [
            {
                **m.model_dump(),
                "author": names.get(m.author_agent_id or 0)
                if m.author_agent_id
                else (contact or {}).get("display_name") or ticket.contact_email or "",
                "sender_name": m.fields.get(SENDER_NAME, ""),
                "files": views.attachment_links(ticket_id, m.attachments),
            }
            for m in ticket.messages or []
        ]
        return {
            "ticket": row,
            "thread": thread,
            "contact": contact,
            "catalogue": catalogue,
            "canned": canned,
            "similar": similar,
            "escalation": escalation,
            "sla": views.sla_countdown(row, datetime.now(UTC)),
            "reply_channels": views.REPLY_CHANNELS,
            "default_channel": views.default_reply_channel(ticket.channel),
            "priority_name": catalogue.name_of("priorities", ticket.priority_id),
            "type_name": catalogue.name_of("types", ticket.type_id),
            "responsible_name": catalogue.name_of("agents", ticket.responsible_agent_id),
            "group_name": catalogue.name_of("groups", ticket.responsible_group_id),
        }

    async def ticket_page(
        request: Request,
        agent: ConsoleAgent,
        ticket_id: int,
        *,
        error: str | None = None,
        status_code: int = 200,
        draft: str = "",
    ) -> Response:
        context = await ticket_context(agent, ticket_id)
        context.update(error=error, draft=draft, done=request.query_params.get("done"))
        return page(request, "ticket.html", context, agent, status_code)

    @router.get("/tickets/{ticket_id}", include_in_schema=False)
    async def ticket(request: Request, ticket_id: int) -> Response:
        agent = await logged_in(request)
        return await ticket_page(request, agent, ticket_id)

    @router.get("/tickets/{ticket_id}/thread", include_in_schema=False)
    async def thread(request: Request, ticket_id: int) -> Response:
        agent = await logged_in(request)
        context = await ticket_context(agent, ticket_id)
        return page(request, "_thread.html", context, agent)

    @router.get("/tickets/{ticket_id}/summary", include_in_schema=False)
    async def summary(request: Request, ticket_id: int) -> Response:
        agent = await logged_in(request)
        context = await ticket_context(agent, ticket_id)
        return page(request, "_summary.html", context, agent)

    def done(ticket_id: int, what: str) -> Response:
        return RedirectResponse(f"{PREFIX}/tickets/{ticket_id}?done={what}", status_code=303)

    async def change_ticket(agent: ConsoleAgent, ticket_id: int, change: ChangeRequest) -> None:
        async with sessions() as db:
            async with db.begin():
                change = replace(change, role=await ticket_fields.role_of(db, agent.id))
                outcome = await apply_changes(
                    db,
                    [ticket_id],
                    change,
                    Actor.agent(agent.id),
                    now=datetime.now(UTC),
                    auto_close_after=auto_close_after,
                )
            if ticket_id in outcome.failed:
                raise WorkflowError(outcome.failed[ticket_id])
        relay.notify()

    @router.post("/tickets/{ticket_id}/reply", include_in_schema=False)
    async def reply(request: Request, ticket_id: int) -> Response:
        agent = await logged_in(request)
        form = await checked_form(request, agent)
        await may_see(agent, ticket_id)
        text = str(form.get("text") or "")
        internal = form.get("mode") == "note"
        resolve = form.get("action") == "send_resolve"
        raw_channel = str(form.get("channel") or "")
        if not text.strip():
            return await ticket_page(
                request, agent, ticket_id, error="Write something first.", status_code=422
            )
        if len(text) > _MAX_TEXT:
            return await ticket_page(
                request, agent, ticket_id, error="The text is too long.", status_code=422
            )
        channel: Channel | None = None
        if not internal and raw_channel:
            if raw_channel not in views.REPLY_CHANNELS:
                return await ticket_page(
                    request,
                    agent,
                    ticket_id,
                    error="Unknown channel.",
                    status_code=422,
                    draft=text,
                )
            channel = Channel(raw_channel)
        try:
            async with sessions() as db, db.begin():
                if not await wrepo.active_agents(db, [agent.id]):
                    raise NotLoggedIn
                _, outbox_ids = await add_reply(
                    db,
                    ticket_id,
                    ReplyRequest(text, None, internal, channel, (), author_agent_id=agent.id),
                    reply_settings,
                )
        except TicketNotFound as exc:
            raise ConsoleError(status_code=404, detail=f"ticket {ticket_id} not found") from exc
        except ReplyError as exc:
            return await ticket_page(
                request, agent, ticket_id, error=str(exc), status_code=422, draft=text
            )
        await relay.flush_quietly(outbox_ids)
        if resolve:
            try:
                await change_ticket(agent, ticket_id, ChangeRequest(status="resolved"))
            except WorkflowError as exc:
                return await ticket_page(
                    request,
                    agent,
                    ticket_id,
                    error=f"Sent, but not resolved: {exc}",
                    status_code=422,
                )
            return done(ticket_id, "sent_resolved")
        return done(ticket_id, "note" if internal else "sent")

    @router.post("/tickets/{ticket_id}/change", include_in_schema=False)
    async def change(request: Request, ticket_id: int) -> Response:
        agent = await logged_in(request)
        form = await checked_form(request, agent)
        await may_see(agent, ticket_id)
        pending_until: datetime | None = None
        raw_until = str(form.get("pending_until") or "").strip()
        if raw_until:
            try:
                pending_until = datetime.fromisoformat(raw_until)
            except ValueError:
                return await ticket_page(
                    request, agent, ticket_id, error="Pending until: not a date.", status_code=422
                )
            if pending_until.tzinfo is None:
                pending_until = pending_until.replace(tzinfo=UTC)
        request_change = ChangeRequest(
            status_id=int_field(form, "status_id"),
            pending_until=pending_until,
            priority_id=int_field(form, "priority_id"),
            type_id=int_field(form, "type_id") if "type_id" in form else KEEP,
            responsible_agent_id=int_field(form, "responsible_agent_id")
            if "responsible_agent_id" in form
            else KEEP,
            responsible_group_id=int_field(form, "responsible_group_id")
            if "responsible_group_id" in form
            else KEEP,
            observer_agent_ids=ids(form, "observer_agent_ids"),
            observer_group_ids=ids(form, "observer_group_ids"),
        )
        async with sessions() as db:
            current = await ticket_detail(db, ticket_id)
        request_change = only_changed(request_change, current.model_dump())
        if request_change.is_empty():
            return done(ticket_id, "unchanged")
        try:
            await change_ticket(agent, ticket_id, request_change)
        except WorkflowError as exc:
            return await ticket_page(request, agent, ticket_id, error=str(exc), status_code=422)
        return done(ticket_id, "changed")

    @router.post("/tickets/{ticket_id}/escalate", include_in_schema=False)
    async def escalate_ticket(request: Request, ticket_id: int) -> Response:
        agent = await logged_in(request)
        form = await checked_form(request, agent)
        await may_see(agent, ticket_id)
        group_id = int_field(form, "group_id")
        note = str(form.get("note") or "").strip()
        if group_id is None or not note or len(note) > 20_000:
            return await ticket_page(
                request,
                agent,
                ticket_id,
                error="Choose the second-line group and write a note.",
                status_code=422,
            )
        try:
            async with sessions() as db:
                async with db.begin():
                    result = await escalate(
                        db,
                        ticket_id,
                        group_id,
                        note,
                        agent.id,
                        now=datetime.now(UTC),
                        auto_close_after=auto_close_after,
                        reply_settings=reply_settings,
                    )
            await relay.flush_quietly(result.outbox_ids)
        except TicketNotFound as exc:
            raise ConsoleError(status_code=404, detail=f"ticket {ticket_id} not found") from exc
        except (EscalationConflict, WorkflowError) as exc:
            return await ticket_page(request, agent, ticket_id, error=str(exc), status_code=409)
        return done(ticket_id, "escalated")

    @router.get("/tickets/{ticket_id}/canned", include_in_schema=False)
    async def canned(request: Request, ticket_id: int) -> Response:
        """The reply box filled with a canned response for this ticket (HTMX)."""
        agent = await logged_in(request)
        await may_see(agent, ticket_id)
        canned_id = int_field(request.query_params, "canned_id")
        draft = request.query_params.get("text", "")[:_MAX_TEXT]
        text = draft
        error = None
        if canned_id is not None:
            async with sessions() as db:
                if not await ticket_repo.canned_in_reach(db, agent.id, canned_id):
                    raise ConsoleError(status_code=404, detail="no such canned response")
                row = await ticket_repo.canned_text(db, canned_id)
                ticket = await ticket_detail(db, ticket_id)
            values = RenderValues(
                contact_name=ticket.contact_name or "",
                contact_email=ticket.contact_email or "",
                ticket_number=ticket.number,
                ticket_subject=ticket.subject,
                agent_name=agent.name,
                agent_email=agent.email,
            )
            try:
                rendered = render_canned(row, values)
                text = f"{draft.rstrip()}\n\n{rendered}" if draft.strip() else rendered
            except TemplateRefused as exc:
                error = str(exc)
        return page(request, "_reply_text.html", {"draft": text, "canned_error": error}, agent)

    # --- a ticket from the incoming-call popup ------------------------------------------

    @router.get("/new-ticket", include_in_schema=False)
    async def new_ticket_form(request: Request) -> Response:
        agent = await logged_in(request)
        params = request.query_params
        return page(
            request,
            "new_ticket.html",
            {
                "phone": params.get("phone", "")[:40],
                "account": params.get("account", "")[:64],
                "error": None,
                **await phone_tickets.form_context(sessions, agent.role, {}),
            },
            agent,
        )

    @router.post("/new-ticket", include_in_schema=False)
    async def new_ticket(request: Request) -> Response:
        agent = await logged_in(request)
        form = await checked_form(request, agent)
        phone, account = str(form.get("phone") or ""), str(form.get("account") or "")
        try:
            wanted = phone_tickets.checked(
                phone,
                account,
                str(form.get("subject") or ""),
                str(form.get("note") or ""),
                agent.id,
                role=agent.role,
                form=form,
            )
            async with sessions() as db, db.begin():
                ticket_id, outbox_ids = await phone_tickets.open_phone_ticket(
                    db, wanted, reply_settings
                )
        except (phone_tickets.PhoneTicketRefused, ReplyError) as exc:
            context = {"phone": phone[:40], "account": account[:64], "error": str(exc)}
            context.update(await phone_tickets.form_context(sessions, agent.role, form))
            return page(request, "new_ticket.html", context, agent, 422)
        await relay.flush_quietly(outbox_ids)
        return done(ticket_id, "created")

    return router
