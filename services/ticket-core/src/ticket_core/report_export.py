"""Ticket reports as downloads, shared by the REST API (``reports_api``) and the console:
the query over what the caller may see, the rows in chunks (server-side cursor), and the
CSV (streamed as read) and XLSX (write-only workbook spooled to a temporary file, then
streamed) responses. The cells themselves are ``reports.py``'s (safe cells)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import repository as repo
from .models_org import agents, companies, groups
from .models_workflow import priorities, statuses, ticket_types
from .reports import HEADER, XlsxReport, csv_lines, row_cells
from .statuses import resolution_seconds

CHUNK = 1000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportTooLarge(OverflowError):
    """More rows than an XLSX sheet holds (the API and the console answer 413)."""


def report_query(where: list[Any]) -> Any:
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


def created_between(created_from: datetime | None, created_to: datetime | None) -> list[Any]:
    """``created_from <= created_at < created_to`` (either bound may be missing)."""
    where: list[Any] = []
    if created_from is not None:
        where.append(repo.tickets.c.created_at >= created_from)
    if created_to is not None:
        where.append(repo.tickets.c.created_at < created_to)
    return where


async def chunks(
    sessions: async_sessionmaker[AsyncSession], where: list[Any]
) -> AsyncGenerator[list[list[Any]], None]:
    async with sessions() as session:
        result = await session.stream(report_query(where).execution_options(yield_per=CHUNK))
        async for partition in result.mappings().partitions(CHUNK):
            now = datetime.now(UTC)
            yield [
                row_cells({**row, "resolution_seconds": resolution_seconds(dict(row), now)})
                for row in partition
            ]


def filename(extension: str) -> str:
    return f"tickets-{datetime.now(UTC):%Y%m%d-%H%M%S}.{extension}"


def csv_response(sessions: async_sessionmaker[AsyncSession], where: list[Any]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        yield ("\ufeff" + csv_lines([HEADER])).encode()  # BOM: spreadsheets read UTF-8
        async for rows in chunks(sessions, where):
            yield csv_lines(rows).encode()

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename("csv")}"'},
    )


async def xlsx_response(
    sessions: async_sessionmaker[AsyncSession], where: list[Any]
) -> StreamingResponse:
    """The workbook, built before the first byte goes out; ``ReportTooLarge`` past the
    sheet's row limit."""
    report = XlsxReport()
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    try:
        async with aclosing(chunks(sessions, where)) as reading:
            async for rows in reading:
                for cells in rows:
                    report.add(cells)
        await asyncio.to_thread(report.save, spool)
    except OverflowError as exc:
        report.discard()
        spool.close()
        raise ReportTooLarge(str(exc)) from exc
    except BaseException:  # the query failed (a 4xx for bad values), cancelled, ...
        report.discard()
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
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename("xlsx")}"'},
    )
