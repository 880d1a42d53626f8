"""The portal's ticket pages: my tickets (and my company's with company access), a
ticket's public thread with its actions (reply with files, confirm, reopen, rate), a new
ticket, and downloading a file of the public thread.

What a contact sees is ``portal_repo``'s (own or company tickets, never internal ones,
only customer messages and public replies; anything else is 404) and every write is a
``portal_actions`` function, the same as ``/api/v1/portal``. Every POST checks the CSRF
token of the portal session (``kit.checked_form``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from helpdesk_common.blobstore import BlobNotFound
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from .. import portal_actions as actions
from .. import portal_repo as repo
from ..catalog import load_catalog
from ..custom_attributes import InvalidAttribute
from ..desk_settings_repo import portal_options
from ..portal_messages import idempotency_key
from ..replies import TicketNotFound
from ..required_attributes import CONTACT, form_fields, from_form
from ..satisfaction import RatingInvalid, RatingRefused
from ..ticket_fields import load_definitions
from . import uploads
from .forms import (
    MAX_SUBJECT,
    MAX_TEXT,
    PAGE_SIZE,
    PREFIX,
    PortalError,
    int_field,
    list_query,
    rating_fields,
    text_field,
)
from .kit import PortalKit, Visitor

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_KEY = re.compile(r"^[0-9a-f]{32}$")
Action = Callable[[AsyncSession, datetime], Awaitable[actions.Done]]


def _form_key(form: FormData) -> str | None:
    """The page's one-time key (double submits store one message), when well-formed."""
    raw = str(form.get("idempotency") or "")
    return raw if _KEY.match(raw) else None


def ticket_router(kit: PortalKit) -> APIRouter:
    router = kit.router()

    async def run(work: Action) -> actions.Done:
        """One portal action in a transaction; refusals become 404/409/422 pages."""
        try:
            async with kit.sessions() as session, session.begin():
                done = await work(session, datetime.now(UTC))
        except (actions.PortalNotFound, TicketNotFound) as exc:
            raise PortalError(status_code=404, detail=f"ticket {exc.args[0]} not found") from exc
        except (actions.PortalRefused, RatingRefused) as exc:
            raise PortalError(status_code=409, detail=str(exc)) from exc
        except (actions.PortalInvalid, RatingInvalid) as exc:
            raise PortalError(status_code=422, detail=str(exc)) from exc
        await kit.relay.flush_quietly(done.outbox_ids)
        return done

    # --- my tickets -----------------------------------------------------------------

    @router.get("/")
    async def my_tickets(request: Request) -> Response:
        visitor = await kit.logged_in(request)
        query = list_query(request.query_params, visitor.company_access)
        user = visitor.user if query.scope == "company" else replace(visitor.user, access="own")
        async with kit.sessions() as db:
            total, rows = await repo.ticket_page(db, user, query.status, PAGE_SIZE, query.offset)
        previous = max(query.offset - PAGE_SIZE, 0) if query.offset else None
        following = query.offset + PAGE_SIZE if query.offset + PAGE_SIZE < total else None
        context = {
            "query": query,
            "rows": rows,
            "total": total,
            "previous": None if previous is None else query.query_string(offset=previous),
            "following": None if following is None else query.query_string(offset=following),
            "shown_from": query.offset + 1 if rows else 0,
            "shown_to": query.offset + len(rows),
        }
        return await kit.page(request, "tickets.html", context, visitor)

    # --- one ticket -----------------------------------------------------------------

    async def ticket_page(
        request: Request,
        visitor: Visitor,
        ticket_id: int,
        *,
        error: str | None = None,
        status_code: int = 200,
        draft: str = "",
    ) -> Response:
        async with kit.sessions() as db:
            ticket = await repo.ticket(db, visitor.user, ticket_id)
            if ticket is None:
                raise PortalError(status_code=404, detail=f"ticket {ticket_id} not found")
            messages = await repo.public_messages(db, ticket_id)
        thread = [
            {
                **m,
                "mine": m["kind"] == "customer",
                "files": uploads.file_links(ticket_id, m["attachments"] or []),
            }
            for m in messages
        ]
        context = {
            "ticket": ticket,
            "thread": thread,
            "error": error,
            "draft": draft,
            "done": request.query_params.get("done"),
            "idempotency": uuid.uuid4().hex,
            "max_files": uploads.MAX_FILES,
            "max_file_bytes": kit.settings.max_upload_bytes,
        }
        return await kit.page(request, "ticket.html", context, visitor, status_code)

    @router.get("/tickets/{ticket_id}")
    async def ticket(request: Request, ticket_id: int) -> Response:
        visitor = await kit.logged_in(request)
        return await ticket_page(request, visitor, ticket_id)

    def landed(ticket_id: int, done: str) -> Response:
        return RedirectResponse(f"{PREFIX}/tickets/{ticket_id}?done={done}", status_code=303)

    @router.post("/tickets/{ticket_id}/reply")
    async def reply(request: Request, ticket_id: int) -> Response:
        visitor = await kit.logged_in(request)
        form = await kit.checked_form(request, visitor)
        draft = str(form.get("text") or "")[:MAX_TEXT]
        try:
            text = text_field(form, "text", "the message", MAX_TEXT)
            async with kit.sessions() as db:  # 404 before any file is stored
                if not await repo.can_see(db, visitor.user, ticket_id):
                    raise PortalError(status_code=404, detail=f"ticket {ticket_id} not found")
            files = await uploads.store(form, kit.blobs, kit.settings.max_upload_bytes)
            key = idempotency_key(visitor.user, _form_key(form))
            done = await run(
                lambda db, now: actions.add_reply(
                    db,
                    visitor.user,
                    ticket_id,
                    text,
                    key,
                    kit.config.portal_channel_account,
                    kit.reopen_window,
                    now,
                    files,
                )
            )
        except PortalError as exc:
            if exc.status_code == 404:
                raise
            return await ticket_page(
                request,
                visitor,
                ticket_id,
                error=str(exc.detail),
                status_code=exc.status_code,
                draft=draft,
            )
        return landed(done.ticket_id, "sent")

    async def ticket_action(
        request: Request, ticket_id: int, work: Callable[[Visitor, FormData], Action], done: str
    ) -> Response:
        visitor = await kit.logged_in(request)
        form = await kit.checked_form(request, visitor)
        try:
            await run(work(visitor, form))
        except PortalError as exc:
            if exc.status_code == 404:
                raise
            return await ticket_page(
                request, visitor, ticket_id, error=str(exc.detail), status_code=exc.status_code
            )
        return landed(ticket_id, done)

    @router.post("/tickets/{ticket_id}/confirm")
    async def confirm(request: Request, ticket_id: int) -> Response:
        def work(visitor: Visitor, form: FormData) -> Action:
            return lambda db, now: actions.confirm(
                db, visitor.user, ticket_id, kit.auto_close_after, now
            )

        return await ticket_action(request, ticket_id, work, "confirmed")

    @router.post("/tickets/{ticket_id}/reopen")
    async def reopen(request: Request, ticket_id: int) -> Response:
        def work(visitor: Visitor, form: FormData) -> Action:
            return lambda db, now: actions.reopen_ticket(
                db, visitor.user, ticket_id, kit.auto_close_after, now
            )

        return await ticket_action(request, ticket_id, work, "reopened")

    @router.post("/tickets/{ticket_id}/rating")
    async def rating(request: Request, ticket_id: int) -> Response:
        def work(visitor: Visitor, form: FormData) -> Action:
            chosen, comment = rating_fields(form)
            return lambda db, now: actions.rate_ticket(
                db, visitor.user, ticket_id, chosen, comment, now
            )

        return await ticket_action(request, ticket_id, work, "rated")

    @router.get("/tickets/{ticket_id}/files/{sha256}")
    async def download(request: Request, ticket_id: int, sha256: str) -> Response:
        visitor = await kit.logged_in(request)
        if not _SHA256.match(sha256):
            raise PortalError(status_code=404, detail="no such file")
        async with kit.sessions() as db:
            if not await repo.can_see(db, visitor.user, ticket_id):
                raise PortalError(status_code=404, detail=f"ticket {ticket_id} not found")
            found = uploads.find_file(await repo.public_messages(db, ticket_id), sha256)
        if found is None:
            raise PortalError(status_code=404, detail="no such file")
        try:
            data = await kit.blobs.get(sha256)
        except BlobNotFound as exc:
            raise PortalError(status_code=404, detail="the file is no longer stored") from exc
        filename = str(found.get("filename") or "file")
        return Response(
            content=data,
            media_type="application/octet-stream",
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
        )

    # --- new ticket -----------------------------------------------------------------

    async def choices() -> dict[str, list[tuple[int, str]]]:
        async with kit.sessions() as db:
            options = await portal_options(db)
            catalog = await load_catalog(db)
        return {
            "types": [
                (i, catalog.types[i])
                for i in options.type_ids
                if i in catalog.types
                and not catalog.is_internal(i)
                and i not in catalog.inactive_types
            ],
            "priorities": [
                (i, catalog.priorities[i])
                for i in options.priority_ids
                if i in catalog.priorities and i not in catalog.inactive_priorities
            ],
        }

    async def new_page(
        request: Request,
        visitor: Visitor,
        values: dict[str, Any] | None = None,
        error: str | None = None,
        status_code: int = 200,
        entered: Mapping[str, Any] | None = None,
    ) -> Response:
        async with kit.sessions() as db:
            definitions = await load_definitions(db)
        context = {
            "choices": await choices(),
            # custom attributes a contact sees, required ones first (required_attributes)
            "attributes": form_fields(definitions, CONTACT, entered or {}),
            "values": {
                "subject": "",
                "text": "",
                "type_id": "",
                "priority_id": "",
                **(values or {}),
            },
            "error": error,
            "idempotency": uuid.uuid4().hex,
            "max_files": uploads.MAX_FILES,
            "max_file_bytes": kit.settings.max_upload_bytes,
        }
        return await kit.page(request, "new_ticket.html", context, visitor, status_code)

    @router.get("/new")
    async def new_form(request: Request) -> Response:
        return await new_page(request, await kit.logged_in(request))

    @router.post("/new")
    async def create(request: Request) -> Response:
        visitor = await kit.logged_in(request)
        form = await kit.checked_form(request, visitor)
        values = {
            "subject": str(form.get("subject") or "")[: MAX_SUBJECT * 2],
            "text": str(form.get("text") or "")[:MAX_TEXT],
            "type_id": str(form.get("type_id") or ""),
            "priority_id": str(form.get("priority_id") or ""),
        }
        try:
            subject = text_field(form, "subject", "the subject", MAX_SUBJECT)
            text = text_field(form, "text", "the description", MAX_TEXT)
            type_id = int_field(form, "type_id")
            priority_id = int_field(form, "priority_id")
            offered = await choices()
            if type_id is not None and type_id not in dict(offered["types"]):
                raise PortalError(status_code=422, detail="this type cannot be chosen")
            if priority_id is not None and priority_id not in dict(offered["priorities"]):
                raise PortalError(status_code=422, detail="this priority cannot be chosen")
            async with kit.sessions() as db:
                definitions = await load_definitions(db)
            try:
                attributes = from_form(definitions, form)
            except InvalidAttribute as exc:
                raise PortalError(status_code=422, detail=str(exc)) from exc
            files = await uploads.store(form, kit.blobs, kit.settings.max_upload_bytes)
            key = idempotency_key(visitor.user, _form_key(form))
            done = await run(
                lambda db, now: actions.open_ticket(
                    db,
                    visitor.user,
                    subject,
                    text,
                    type_id,
                    priority_id,
                    key,
                    kit.config.portal_channel_account,
                    kit.reopen_window,
                    kit.auto_close_after,
                    now,
                    files,
                    attributes=attributes,
                )
            )
        except PortalError as exc:
            return await new_page(
                request, visitor, values, str(exc.detail), exc.status_code, entered=form
            )
        return landed(done.ticket_id, "created")

    return router
