"""The console's ticket page and its actions: reply, note, field changes, escalation,
canned responses, and a new ticket from the incoming-call pop-up.

Ticket access is the REST API's: a specialist sees the tickets that concern them
(``ticket_visibility``), others see all. Every POST checks the CSRF token (``kit``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from helpdesk_common.records import Channel
from starlette.responses import RedirectResponse, Response

from .. import ticket_fields
from .. import workflow_repo as wrepo
from ..api import ticket_detail
from ..attachment_rules import UploadRefused
from ..audit import Actor
from ..canned import RenderValues, TemplateRefused
from ..canned import render as render_canned
from ..collab_repo import open_escalation
from ..escalation import EscalationConflict, escalate
from ..inbound_rows import SENDER_NAME
from ..replies import ReplyError, ReplyRequest, TicketNotFound, add_reply
from ..workflow import KEEP, ChangeRequest, WorkflowError, apply_changes
from . import phone_tickets, ticket_links_view, ticket_repo, views
from .console_auth import ConsoleAgent, NotLoggedIn
from .forms import (
    PREFIX,
    ConsoleError,
    ids,
    int_field,
    only_changed,
)
from .kit import ConsoleKit
from .reply_uploads import stored_files

_MAX_TEXT = 100_000


def ticket_router(kit: ConsoleKit) -> APIRouter:
    router = kit.router()

    # --- the ticket page ------------------------------------------------------------

    async def ticket_context(agent: ConsoleAgent, ticket_id: int) -> dict[str, Any]:
        await kit.may_read(agent, ticket_id)
        read_only = await kit.read_only_for(agent, ticket_id)  # own ticket's number, or None
        async with kit.sessions() as db:
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
            links = await ticket_links_view.panel(db, ticket_id, agent)
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
            "links": links,
            "read_only": read_only,
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
        context.update(upload_limit=kit.settings.max_upload_bytes)
        return kit.page(request, "ticket.html", context, agent, status_code)

    @router.get("/tickets/{ticket_id}", include_in_schema=False)
    async def ticket(request: Request, ticket_id: int) -> Response:
        agent = await kit.logged_in(request)
        return await ticket_page(request, agent, ticket_id)

    @router.get("/tickets/{ticket_id}/thread", include_in_schema=False)
    async def thread(request: Request, ticket_id: int) -> Response:
        agent = await kit.logged_in(request)
        context = await ticket_context(agent, ticket_id)
        return kit.page(request, "_thread.html", context, agent)

    @router.get("/tickets/{ticket_id}/summary", include_in_schema=False)
    async def summary(request: Request, ticket_id: int) -> Response:
        agent = await kit.logged_in(request)
        context = await ticket_context(agent, ticket_id)
        return kit.page(request, "_summary.html", context, agent)

    def done(ticket_id: int, what: str) -> Response:
        return RedirectResponse(f"{PREFIX}/tickets/{ticket_id}?done={what}", status_code=303)

    async def change_ticket(agent: ConsoleAgent, ticket_id: int, change: ChangeRequest) -> None:
        async with kit.sessions() as db:
            async with db.begin():
                change = replace(change, role=await ticket_fields.role_of(db, agent.id))
                outcome = await apply_changes(
                    db,
                    [ticket_id],
                    change,
                    Actor.agent(agent.id),
                    now=datetime.now(UTC),
                    auto_close_after=kit.auto_close_after,
                )
            if ticket_id in outcome.failed:
                raise WorkflowError(outcome.failed[ticket_id])
        kit.relay.notify()

    @router.post("/tickets/{ticket_id}/reply", include_in_schema=False)
    async def reply(request: Request, ticket_id: int) -> Response:
        agent = await kit.logged_in(request)
        form = await kit.checked_form(request, agent)
        await kit.may_change(agent, ticket_id)
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
            files = await stored_files(form, kit.blobs, kit.settings.max_upload_bytes)
        except UploadRefused as exc:
            return await ticket_page(
                request, agent, ticket_id, error=exc.detail, status_code=exc.status_code, draft=text
            )
        try:
            async with kit.sessions() as db, db.begin():
                if not await wrepo.active_agents(db, [agent.id]):
                    raise NotLoggedIn
                _, outbox_ids = await add_reply(
                    db,
                    ticket_id,
                    ReplyRequest(text, None, internal, channel, files, author_agent_id=agent.id),
                    kit.reply_settings,
                )
        except TicketNotFound as exc:
            raise ConsoleError(status_code=404, detail=f"ticket {ticket_id} not found") from exc
        except ReplyError as exc:
            return await ticket_page(
                request, agent, ticket_id, error=str(exc), status_code=422, draft=text
            )
        await kit.relay.flush_quietly(outbox_ids)
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
        agent = await kit.logged_in(request)
        form = await kit.checked_form(request, agent)
        await kit.may_change(agent, ticket_id)
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
        async with kit.sessions() as db:
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
        agent = await kit.logged_in(request)
        form = await kit.checked_form(request, agent)
        await kit.may_change(agent, ticket_id)
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
            async with kit.sessions() as db:
                async with db.begin():
                    result = await escalate(
                        db,
                        ticket_id,
                        group_id,
                        note,
                        agent.id,
                        now=datetime.now(UTC),
                        auto_close_after=kit.auto_close_after,
                        reply_settings=kit.reply_settings,
                    )
            await kit.relay.flush_quietly(result.outbox_ids)
        except TicketNotFound as exc:
            raise ConsoleError(status_code=404, detail=f"ticket {ticket_id} not found") from exc
        except (EscalationConflict, WorkflowError) as exc:
            return await ticket_page(request, agent, ticket_id, error=str(exc), status_code=409)
        return done(ticket_id, "escalated")

    @router.get("/tickets/{ticket_id}/canned", include_in_schema=False)
    async def canned(request: Request, ticket_id: int) -> Response:
        """The reply box filled with a canned response for this ticket (HTMX)."""
        agent = await kit.logged_in(request)
        await kit.may_change(agent, ticket_id)  # fills the reply box
        canned_id = int_field(request.query_params, "canned_id")
        draft = request.query_params.get("text", "")[:_MAX_TEXT]
        text = draft
        error = None
        if canned_id is not None:
            async with kit.sessions() as db:
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
        return kit.page(request, "_reply_text.html", {"draft": text, "canned_error": error}, agent)

    # --- a ticket from the incoming-call popup ------------------------------------------

    @router.get("/new-ticket", include_in_schema=False)
    async def new_ticket_form(request: Request) -> Response:
        agent = await kit.logged_in(request)
        params = request.query_params
        return kit.page(
            request,
            "new_ticket.html",
            {
                "phone": params.get("phone", "")[:40],
                "account": params.get("account", "")[:64],
                "error": None,
                **await phone_tickets.form_context(kit.sessions, agent.role, {}),
            },
            agent,
        )

    @router.post("/new-ticket", include_in_schema=False)
    async def new_ticket(request: Request) -> Response:
        agent = await kit.logged_in(request)
        form = await kit.checked_form(request, agent)
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
            async with kit.sessions() as db, db.begin():
                ticket_id, outbox_ids = await phone_tickets.open_phone_ticket(
                    db, wanted, kit.reply_settings
                )
        except (phone_tickets.PhoneTicketRefused, ReplyError) as exc:
            context = {"phone": phone[:40], "account": account[:64], "error": str(exc)}
            context.update(await phone_tickets.form_context(kit.sessions, agent.role, form))
            return kit.page(request, "new_ticket.html", context, agent, 422)
        await kit.relay.flush_quietly(outbox_ids)
        return done(ticket_id, "created")

    return router
