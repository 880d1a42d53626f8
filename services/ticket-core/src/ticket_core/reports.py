"""Tabular ticket reports, pure: the columns, safe cells, CSV lines and XLSX workbooks.

Safe cells: a text cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage
return, which some spreadsheets skip before reading a formula) gets a leading ``'`` so a
spreadsheet opening the file shows it as text instead of running it as a formula (CSV
injection). XLSX cells are also written as strings explicitly, never as formulas, and
characters XML cannot carry are dropped.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "ID"),
    ("number", "Number"),
    ("subject", "Subject"),
    ("status", "Status category"),
    ("status_name", "Status"),
    ("priority_name", "Priority"),
    ("type_name", "Type"),
    ("channel", "Channel"),
    ("contact_email", "Contact email"),
    ("contact_name", "Contact"),
    ("company_name", "Company"),
    ("responsible_agent_name", "Responsible agent"),
    ("responsible_group_name", "Responsible group"),
    ("created_at", "Created"),
    ("first_response_at", "First response"),
    ("resolved_at", "Resolved"),
    ("closed_at", "Closed"),
    ("resolution_due_at", "Resolution due"),
    ("resolution_seconds", "Resolution time (s)"),
    ("reopen_count", "Reopened"),
    ("rating", "Rating"),
)
HEADER = [title for _, title in COLUMNS]
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_575  # the sheet's limit, less the header row


def safe_text(value: str) -> str:
    return "'" + value if value.startswith(_DANGEROUS) else value


def cell(value: Any) -> str | int | float | None:
    """A report cell: numbers stay numbers, times are ISO 8601 UTC, text is made safe."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return safe_text(str(value))


def row_cells(row: Mapping[str, Any]) -> list[str | int | float | None]:
    return [cell(row.get(key)) for key, _ in COLUMNS]


def csv_lines(rows: Iterable[Sequence[Any]]) -> str:
    """CSV text (RFC 4180, CRLF line ends) of already safe rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


class XlsxReport:
    """A write-only workbook (rows go to a temporary file, not memory): ``add`` rows,
    then ``save`` into a binary file, or ``discard`` it if it will not be saved (the
    sheet's row writer is a suspended generator holding that file open: left to the
    garbage collector, it writes to a closed file, and the file stays on disk)."""

    def __init__(self, title: str = "Tickets") -> None:
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title)
        self._finished = False
        self.rows = 0
        self._sheet.append(HEADER)

    def add(self, cells: Sequence[str | int | float | None]) -> None:
        if self.rows >= XLSX_MAX_ROWS:
            raise OverflowError(f"an XLSX sheet holds at most {XLSX_MAX_ROWS} rows")
        self._sheet.append([self._cell(v) for v in cells])
        self.rows += 1

    def _cell(self, value: str | int | float | None) -> Any:
        if not isinstance(value, str):
            return value
        written = WriteOnlyCell(self._sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        written.data_type = "s"  # never a formula, whatever the text
        return written

    def save(self, target: IO[bytes]) -> None:
        self._finished = True
        try:
            self._book.save(target)  # closes the sheet and removes its temporary file
        except BaseException:
            self._remove_sheet_file()
            raise

    def discard(self) -> None:
        """Close the sheet's writer and remove its temporary file (idempotent)."""
        if self._finished:
            return
        self._finished = True
        try:
            if not self._sheet.closed:
                self._sheet.close()
        finally:
            self._remove_sheet_file()

    def _remove_sheet_file(self) -> None:
        writer = getattr(self._sheet, "_writer", None)  # openpyxl's, with its temp file
        if writer is not None and isinstance(writer.out, str) and os.path.exists(writer.out):
            writer.cleanup()
