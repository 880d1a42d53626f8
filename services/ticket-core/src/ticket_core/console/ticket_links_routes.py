"""The ticket page's links: add a link, remove a hand-made one, merge a duplicate into
another ticket. The same domain functions as ``ticket_links_api`` (``ticket_links``,
``ticket_merge``) and the same access rule: both tickets must be ones the agent may
change (a specialist: tickets that concern them), else 404.

A refused form (self-link, cycle, existing link: 422/409; unknown or unreachable ticket:
404) shows the ticket's links page with the reason and the forms, never a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from .. import ticket_links_repo as lrepo
from .. import workflow_repo as wrepo
from ..audit import Actor
from ..ticket_links import LinkConflict, LinkResult, TicketMissing, add_link, remove_link
from ..ticket_links_rules import MANUAL_KINDS, LinkError
from ..ticket_merge import TicketMergeResult, merge_ticket
from .console_auth import ConsoleAgent, NotLoggedIn
from .forms import PREFIX, ConsoleError, int_field
from .kit import ConsoleKit
from .ticket_links_view import UnknownTicket, panel, ticket_named


class Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def ticket_links_router(kit: ConsoleKit) -> APIRouter:
    router = kit.router()

    async def links_page(
        request: Request, agent: ConsoleAgent, ticket_id: int, error: Refused
    ) -> Response:
        async with kit.sessions() as db:
            found = await lrepo.tickets_by_id(db, [ticket_id])
            if ticket_id not in found:
                raise ConsoleError(status_code=404, detail=f"ticket {ticket_id} not found")
            links = await panel(db, ticket_id, agent)
        context = {"ticket": found[ticket_id], "links": links, "error": error.detail}
        return kit.page(request, "ticket_links/page.html", context, agent, error.status)

    async def other_ticket(agent: ConsoleAgent, raw: str) -> int:
        """The ticket the form names, which the agent must be allowed to change."""
        async with kit.sessions() as db:
            try:
                other_id = await ticket_named(db, raw)
            except UnknownTicket as exc:
                raise Refused(404, str(exc)) from exc
        try:
            await kit.may_change(agent, other_id)
        except ConsoleError as exc:
            raise Refused(404, f"no ticket has number {raw.strip().removeprefix('#')}") from exc
        return other_id

    async def linked(
        agent: ConsoleAgent, work: str, ticket_id: int, kind: str, other_id: int
    ) -> LinkResult | TicketMergeResult | None:
        """Adds, removes or merges in one transaction; the domain's refusals as ``Refused``."""
        now = datetime.now(UTC)
        try:
            async with kit.sessions() as db, db.begin():
                if not await wrepo.active_agents(db, [agent.id]):
                    raise NotLoggedIn
                actor = Actor.agent(agent.id)
                if work == "add":
                    return await add_link(db, ticket_id, kind, other_id, actor, now)
                if work == "remove":
                    return await remove_link(db, ticket_id, kind, other_id, actor, now)
                return await merge_ticket(db, ticket_id, other_id, actor, now, kit.auto_close_after)
        except LinkError as exc:
            raise Refused(422, str(exc)) from exc
        except TicketMissing as exc:
            raise Refused(404, str(exc)) from exc
        except LinkConflict as exc:
            raise Refused(409, str(exc)) from exc

    async def checked(request: Request, ticket_id: int) -> tuple[ConsoleAgent, FormData]:
        agent = await kit.logged_in(request)
        form = await kit.checked_form(request, agent)
        await kit.may_change(agent, ticket_id)
        return agent, form

    def back(ticket_id: int) -> Response:
        return RedirectResponse(f"{PREFIX}/tickets/{ticket_id}?done=changed", status_code=303)

    @router.post("/tickets/{ticket_id}/links", include_in_schema=False)
    async def add(request: Request, ticket_id: int) -> Response:
        agent, form = await checked(request, ticket_id)
        kind = str(form.get("kind") or "")
        try:
            if kind not in MANUAL_KINDS:
                raise Refused(422, "Choose how the tickets are linked.")
            other_id = await other_ticket(agent, str(form.get("other") or ""))
            result = await linked(agent, "add", ticket_id, kind, other_id)
        except Refused as refused:
            return await links_page(request, agent, ticket_id, refused)
        assert result is not None
        await kit.relay.flush_quietly(result.outbox_ids)
        return back(ticket_id)

    @router.post("/tickets/{ticket_id}/links/remove", include_in_schema=False)
    async def remove(request: Request, ticket_id: int) -> Response:
        agent, form = await checked(request, ticket_id)
        kind = str(form.get("kind") or "")
        other_id = int_field(form, "other_id")
        try:
            if kind not in MANUAL_KINDS or other_id is None:
                raise Refused(422, "Only links made by hand can be removed.")
            try:
                await kit.may_change(agent, other_id)
            except ConsoleError as exc:
                raise Refused(404, f"ticket {other_id} not found") from exc
            result = await linked(agent, "remove", ticket_id, kind, other_id)
            if result is None:
                raise Refused(404, "That link is gone already.")
        except Refused as refused:
            return await links_page(request, agent, ticket_id, refused)
        await kit.relay.flush_quietly(result.outbox_ids)
        return back(ticket_id)

    @router.post("/tickets/{ticket_id}/merge", include_in_schema=False)
    async def merge(request: Request, ticket_id: int) -> Response:
        agent, form = await checked(request, ticket_id)
        try:
            target_id = await other_ticket(agent, str(form.get("target") or ""))
            result = await linked(agent, "merge", ticket_id, "duplicate_of", target_id)
        except Refused as refused:
            return await links_page(request, agent, ticket_id, refused)
        assert result is not None
        await kit.relay.flush_quietly(result.outbox_ids)
        return back(ticket_id)

    return router
