"""The console's inbox: the ticket list with filters, search, sort and pages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from . import inbox_repo, ticket_repo, views
from .console_auth import ConsoleAgent
from .forms import PREFIX, inbox_query, query_string
from .kit import ConsoleKit


def inbox_router(kit: ConsoleKit) -> APIRouter:
    router = kit.router()

    # --- inbox ----------------------------------------------------------------------

    async def inbox_context(agent: ConsoleAgent, params: Mapping[str, Any]) -> dict[str, Any]:
        query = inbox_query(params)
        now = datetime.now(UTC)
        async with kit.sessions() as db:
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
        agent = await kit.logged_in(request)
        context = await inbox_context(agent, request.query_params)
        return kit.page(request, "inbox.html", context, agent)

    @router.get("/inbox", include_in_schema=False)
    async def inbox_rows(request: Request) -> Response:
        """The results block alone (HTMX: filters, pages, live refresh)."""
        agent = await kit.logged_in(request)
        context = await inbox_context(agent, request.query_params)
        response = kit.page(request, "_inbox_results.html", context, agent)
        if request.headers.get("hx-request") and not request.headers.get("x-console-refresh"):
            qs = context["query_string"]
            response.headers["HX-Push-Url"] = f"{PREFIX}/" + (f"?{qs}" if qs else "")
        return response

    return router
