"""Ticket reports: ``GET /api/v1/reports/tickets.csv`` and ``GET /api/v1/reports/tickets.xlsx``
with the ticket list's filters, over the tickets the caller may see (ticket class).

Both read the tickets with a server-side cursor in chunks. CSV is streamed to the client
as it is read; XLSX is written row by row into a write-only workbook backed by a
temporary file (the format needs the whole file before the first byte), then streamed
from there (``report_export``, shared with the console).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import StreamingResponse
from helpdesk_common.records import Channel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .api import _filters, visibility
from .api_common import bearer_auth
from .models import TicketStatus as Category
from .report_export import ReportTooLarge, created_between, csv_response, xlsx_response
from .settings import TicketCoreSettings
from .sla_repo import OVERDUE_DOC


async def report_filters(
    visible: Annotated[list[Any], Depends(visibility)],
    contact_email: str | None = None,
    status: Annotated[Category | None, Query(description="A status category.")] = None,
    status_id: int | None = None,
    responsible_agent_id: int | None = None,
    responsible_group_id: int | None = None,
    unassigned: bool | None = None,
    channel: Channel | None = None,
    company_id: int | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    overdue: Annotated[bool | None, Query(description=OVERDUE_DOC)] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> list[Any]:
    where = visible + _filters(
        contact_email,
        status,
        status_id,
        responsible_agent_id,
        responsible_group_id,
        unassigned,
        channel,
        company_id,
        q,
        overdue,
    )
    for bound in (created_from, created_to):
        if bound is not None and bound.tzinfo is None:
            raise HTTPException(422, "created_from/created_to need a timezone")
    return where + created_between(created_from, created_to)


Filters = Annotated[list[Any], Depends(report_filters)]


def report_router(
    settings: TicketCoreSettings, sessions: async_sessionmaker[AsyncSession]
) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1/reports", tags=["reports"], dependencies=[Depends(bearer_auth(settings))]
    )

    @router.get("/tickets.csv", response_class=StreamingResponse)
    async def tickets_csv(where: Filters) -> StreamingResponse:
        return csv_response(sessions, where)

    @router.get("/tickets.xlsx", response_class=StreamingResponse)
    async def tickets_xlsx(where: Filters) -> StreamingResponse:
        try:
            return await xlsx_response(sessions, where)
        except ReportTooLarge as exc:
            raise HTTPException(413, f"{exc}: narrow the filters or use CSV") from exc

    return router
