"""Ticket reports as CSV and XLSX from the running ticket-core: formula cells neutralised,
the workbook readable with openpyxl, filters and specialist visibility applied, large
results streamed in chunks."""

from __future__ import annotations

import csv
import gc
import io
import os
import sys
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from openpyxl.worksheet._writer import ALL_TEMP_FILES
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from ticket_core import repository as repo
from ticket_core.audit import Actor
from ticket_core.report_export import xlsx_response
from ticket_core.reports import HEADER, XlsxReport, cell, safe_text

from .auth_helpers import logged_in
from .conftest import Desk, unique, webform

Api = httpx.AsyncClient
FORMULAS = ['=HYPERLINK("http://evil")', "+1+2", "-2+3", "@SUM(A1:A2)"]
DANGEROUS = [*FORMULAS, "\tx=1", "\r=1"]  # subjects lose leading blanks: unit test only


def test_cells_that_a_spreadsheet_would_run_are_made_text() -> None:
    for value in DANGEROUS:
        assert safe_text(value) == "'" + value
    assert safe_text("plain - text") == "plain - text"
    assert cell(-3) == -3 and cell(2.5) == 2.5  # numbers stay numbers
    assert cell(None) is None and cell(True) == "yes"
    report = XlsxReport()
    report.add(["=1+1", 5, None, "bad\x00char"])
    target = io.BytesIO()
    report.save(target)
    rows = list(load_workbook(io.BytesIO(target.getvalue())).active.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    assert rows[1][:4] == ("=1+1", 5, None, "badchar")  # written as a string, not a formula


async def _tickets_with_subjects(desk: Desk, tag: str, subjects: list[str]) -> list[int]:
    senders = [f"{unique('r')}@reports.test" for _ in subjects]
    await desk.ingest(
        [webform(s, subject=f"{subj} {tag}") for s, subj in zip(senders, subjects, strict=True)]
    )
    found = [await desk.ticket_of(s) for s in senders]
    return [int(t["id"]) for t in found if t is not None]


def _csv(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


async def test_csv_and_xlsx_neutralise_formulas_and_read_back(tickets_api: Api, desk: Desk) -> None:
    tag = unique("tag")
    ids = await _tickets_with_subjects(desk, tag, FORMULAS)
    rows = _csv(await tickets_api.get("/api/v1/reports/tickets.csv", params={"q": tag}))
    assert sorted(int(r["ID"]) for r in rows) == sorted(ids)
    for row in rows:
        assert row["Subject"].startswith("'"), row["Subject"]
        assert row["Subject"][1:].split(" ")[0] in FORMULAS
        assert row["Status category"] == "open" and row["Channel"] == "webform"
    subjects = {r["Subject"] for r in rows}
    assert "'+1+2 " + tag in subjects

    response = await tickets_api.get("/api/v1/reports/tickets.xlsx", params={"q": tag})
    assert response.status_code == 200, response.text
    assert "spreadsheetml" in response.headers["content-type"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    table = list(sheet.iter_rows(values_only=True))
    assert list(table[0]) == HEADER
    assert len(table) == 1 + len(ids)
    column = HEADER.index("Subject")
    for line in sheet.iter_rows(min_row=2):
        assert line[column].data_type == "s"  # never a formula
        assert str(line[column].value).startswith("'")
    assert {int(r[HEADER.index("ID")]) for r in table[1:]} == set(ids)


async def test_reports_cover_only_what_a_specialist_sees(tickets_api: Api, desk: Desk) -> None:
    tag = unique("tag")
    mine, other = await _tickets_with_subjects(desk, tag, ["Mine", "Other"])
    me = await logged_in(tickets_api, "specialist")
    await desk.change([mine], Actor("system"), responsible_agent_id=me.agent_id)
    for extension in ("csv", "xlsx"):
        response = await tickets_api.get(
            f"/api/v1/reports/tickets.{extension}", params={"q": tag}, headers=me.headers
        )
        assert response.status_code == 200
        if extension == "csv":
            assert [int(r["ID"]) for r in _csv(response)] == [mine]
        else:
            table = list(load_workbook(io.BytesIO(response.content)).active.values)
            assert [row[0] for row in table[1:]] == [mine]
    everyone = _csv(await tickets_api.get("/api/v1/reports/tickets.csv", params={"q": tag}))
    assert sorted(int(r["ID"]) for r in everyone) == sorted([mine, other])
    only_open = _csv(
        await tickets_api.get("/api/v1/reports/tickets.csv", params={"q": tag, "status": "closed"})
    )
    assert only_open == []


async def test_large_reports_are_streamed_whole(tickets_api: Api, desk: Desk) -> None:
    tag = unique("bulk")
    count = 2100  # more than two of the 1000-row chunks
    await desk.ingest(
        [webform(f"{unique('b')}@bulk.test", subject=f"Bulk {tag}") for _ in range(count)]
    )
    async with tickets_api.stream(
        "GET", "/api/v1/reports/tickets.csv", params={"q": tag}
    ) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers  # streamed, not built in memory
        assert response.headers.get("transfer-encoding") == "chunked"
        body = b"".join([part async for part in response.aiter_bytes()])
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == count
    ids = [int(r["ID"]) for r in rows]
    assert ids == sorted(ids) and len(set(ids)) == count


async def test_bad_report_filters_are_422(tickets_api: Api) -> None:
    for params in (
        {"status": "nonsense"},
        {"channel": "pigeon"},
        {"created_from": "2026-01-01T00:00:00"},  # no timezone
        {"created_from": "yesterday"},
    ):
        for extension in ("csv", "xlsx"):
            response = await tickets_api.get(f"/api/v1/reports/tickets.{extension}", params=params)
            assert response.status_code == 422, (params, response.text)


async def test_a_failed_xlsx_export_closes_its_workbook_and_removes_its_file(
    engine: AsyncEngine,
) -> None:
    """The query fails after the workbook was started (PostgreSQL refuses a NUL in a
    parameter; the API answers 422): the sheet's row writer must be closed then and its
    temporary file removed, not left to the garbage collector (which wrote into a closed
    file: an unraisable exception) and to the process's exit."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    before = set(ALL_TEMP_FILES)  # openpyxl's files, until removed (or the process exits)
    unraisable: list[Any] = []
    hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        with pytest.raises(DBAPIError):
            await xlsx_response(sessions, [repo.tickets.c.subject == "nul\x00"])
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert set(ALL_TEMP_FILES) - before == set()
    assert [str(u.exc_value) for u in unraisable] == []


def test_a_discarded_report_leaves_no_file_and_a_saved_one_cannot_be_discarded() -> None:
    report = XlsxReport()
    report.add(["a", 1])
    sheet_file = ALL_TEMP_FILES[-1]
    assert os.path.exists(sheet_file)
    report.discard()
    report.discard()  # twice is harmless
    assert not os.path.exists(sheet_file) and sheet_file not in ALL_TEMP_FILES
    saved = XlsxReport()
    target = io.BytesIO()
    saved.save(target)
    saved.discard()  # nothing to do: the saved workbook stays readable
    rows = load_workbook(io.BytesIO(target.getvalue())).active.values
    assert next(iter(rows)) == tuple(HEADER)
