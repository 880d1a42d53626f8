"""The dashboard page (counts, created-vs-resolved chart, per-agent response and
resolution times, the report form) and the report downloads (CSV, XLSX).

Every role may open it, as with ``GET /api/v1/dashboard``: the figures and the reports
cover the tickets the agent may see (``access.ticket_filter``), so a specialist sees their
own figures and leads and administrators the whole desk.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..dashboard_repo import load_dashboard
from ..desk_settings_repo import desk_options
from ..report_export import ReportTooLarge, created_between, csv_response, xlsx_response
from ..repository import tickets
from . import chart, dashboard_view
from .console_auth import ConsoleAgent
from .forms import ConsoleError
from .kit import ConsoleKit


def dashboard_router(kit: ConsoleKit) -> APIRouter:
    router = kit.router()

    @router.get("/dashboard", include_in_schema=False)
    async def dashboard(request: Request) -> Response:
        agent = await kit.logged_in(request)
        days = dashboard_view.chart_days(request.query_params)
        now = datetime.now(UTC)
        async with kit.sessions() as db:
            board = await load_dashboard(db, kit.access.ticket_filter(agent.principal), days, now)
        today = board.created_vs_resolved[-1].day
        report = dashboard_view.report_range(request.query_params, today)
        context: dict[str, Any] = {
            "board": board,
            "everything": agent.sees_every_ticket,
            "tiles": dashboard_view.tiles(board.counts),
            "chart": chart.bar_chart(board.created_vs_resolved),
            "today": today,
            "agents": [
                {
                    **row.model_dump(),
                    "first_response": dashboard_view.duration_text(row.avg_first_response_seconds),
                    "resolution": dashboard_view.duration_text(row.avg_resolution_seconds),
                }
                for row in board.agents
            ],
            "report": report,
            "report_query": report.query(),
            "categories": dashboard_view.CATEGORIES,
        }
        return kit.page(request, "dashboard/dashboard.html", context, agent)

    async def report_where(agent: ConsoleAgent, request: Request) -> list[Any]:
        async with kit.sessions() as db:
            zone = ZoneInfo((await desk_options(db)).timezone)
        today = datetime.now(zone).date()
        report = dashboard_view.report_range(request.query_params, today)
        where = kit.access.ticket_filter(agent.principal) + created_between(*report.bounds(zone))
        if report.status:
            where.append(tickets.c.status == report.status)
        return where

    @router.get("/reports/tickets.csv", include_in_schema=False)
    async def report_csv(request: Request) -> Response:
        agent = await kit.logged_in(request)
        return csv_response(kit.sessions, await report_where(agent, request))

    @router.get("/reports/tickets.xlsx", include_in_schema=False)
    async def report_xlsx(request: Request) -> Response:
        agent = await kit.logged_in(request)
        try:
            return await xlsx_response(kit.sessions, await report_where(agent, request))
        except ReportTooLarge as exc:
            detail = f"{exc}: narrow the range or use CSV"
            raise ConsoleError(status_code=413, detail=detail) from exc

    return router
