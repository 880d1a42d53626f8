"""Ticket reports: ``GET /api/v1/reports/tickets.csv`` and ``GET /api/v1/reports/tickets.xlsx``
with the ticket list's filters, over the tickets the caller may see (ticket class).

Both read the tickets with a server-side cursor in chunks. CSV is streamed to the client
as it is read; XLSX is written row by row into a write-only workbook backed by a
temporary file (the format needs the whole file before the first byte), then streamed
from there.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import StreamingResponse
from helpdesk_common.records import Channel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import repository as repo
from .api import _filters, visibility
from .api_common import bearer_auth
from .models import TicketStatus as Category
from .models_org import agents, companies, groups
from .models_workflow import priorities, statuses, ticket_types
from .reports import HEADER, XlsxReport, csv_lines, row_cells
from .settings import TicketCoreSettings
from .sla_repo import OVERDUE_DOC
from .statuses import resolution_seconds

_CHUNK = 1000
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _query(where: list[Any]) -> Any:
    t = repo.tickets
    return (
        select(
            t,
            repo.contacts.c.email.label("contact_email"),
            repo.contacts.c.display_name.label("contact_name"),
            statuses.c.name.label("status_name"),
            priorities.c.name.label("priority_name"),
            ticket_types.c.name.label("type_name"),
            companies.c.name.label("company_name"),
            agents.c.name.label("responsible_agent_name"),
            groups.c.name.label("responsible_group_name"),
        )
        .select_from(t)
        .outerjoin(repo.contacts, repo.contacts.c.id == t.c.contact_id)
        .outerjoin(statuses, statuses.c.id == t.c.status_id)
        .outerjoin(priorities, priorities.c.id == t.c.priority_id)
        .outerjoin(ticket_types, ticket_types.c.id == t.c.type_id)
        .outerjoin(companies, companies.c.id == t.c.company_id)
        .outerjoin(agents, agents.c.id == t.c.responsible_agent_id)
        .outerjoin(groups, groups.c.id == t.c.responsible_group_id)
        .where(*where)
        .order_by(t.c.id)
    )


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
    if created_from is not None:
        where.append(repo.tickets.c.created_at >= created_from)
    if created_to is not None:
        where.append(repo.tickets.c.created_at < created_to)
    return where


Filters = Annotated[list[Any], Depends(report_filters)]


def report_router(
    settings: TicketCoreSettings, sessions: async_sessionmaker[AsyncSession]
) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1/reports", tags=["reports"], dependencies=[Depends(bearer_auth(settings))]
    )

    async def chunks(where: list[Any]) -> AsyncIterator[list[list[Any]]]:
        async with sessions() as session:
            result = await session.stream(_query(where).execution_options(yield_per=_CHUNK))
            async for partition in result.mappings().partitions(_CHUNK):
                now = datetime.now(UTC)
                yield [
                    row_cells({**row, "resolution_seconds": resolution_seconds(dict(row), now)})
                    for row in partition
                ]

    def filename(extension: str) -> str:
        return f"tickets-{datetime.now(UTC):%Y%m%d-%H%M%S}.{extension}"

    @router.get("/tickets.csv", response_class=StreamingResponse)
    async def tickets_csv(where: Filters) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield ("\ufeff" + csv_lines([HEADER])).encode()  # BOM: spreadsheets read UTF-8
            async for rows in chunks(where):
                yield csv_lines(rows).encode()

        return StreamingResponse(
            body(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename("csv")}"'},
        )

    @router.get("/tickets.xlsx", response_class=StreamingResponse)
    async def tickets_xlsx(where: Filters) -> StreamingResponse:
        report = XlsxReport()
        spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
        try:
            async for rows in chunks(where):
                for cells in rows:
                    report.add(cells)
            await asyncio.to_thread(report.save, spool)
        except OverflowError as exc:
            spool.close()
            raise HTTPException(413, f"{exc}: narrow the filters or use CSV") from exc
        except BaseException:
            spool.close()
            raise
        spool.seek(0)

        async def body() -> AsyncIterator[bytes]:
            try:
                while chunk := await asyncio.to_thread(spool.read, 256 * 1024):
                    yield chunk
            finally:
                spool.close()

        return StreamingResponse(
            body(),
            media_type=_XLSX,
            headers={"Content-Disposition": f'attachment; filename="{filename("xlsx")}"'},
        )

    return router
