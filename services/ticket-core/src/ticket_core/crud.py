"""Plain statements for the catalogue and organisation tables the API manages row by row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession


async def page(
    session: AsyncSession,
    table: Table,
    *,
    where: Sequence[ColumnElement[bool]] = (),
    order_by: Sequence[Any] = (),
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    total = await session.scalar(select(func.count()).select_from(table).where(*where))
    rows = await session.execute(
        select(table)
        .where(*where)
        .order_by(*(order_by or table.primary_key.columns))
        .limit(limit)
        .offset(offset)
    )
    return int(total or 0), [dict(r) for r in rows.mappings()]


async def get(
    session: AsyncSession, table: Table, row_id: int, *, lock: bool = False
) -> dict[str, Any] | None:
    query = select(table).where(table.c.id == row_id)
    if lock:
        query = query.with_for_update()
    found = (await session.execute(query)).mappings().first()
    return dict(found) if found else None


async def create(session: AsyncSession, table: Table, values: dict[str, Any]) -> dict[str, Any]:
    row = await session.execute(insert(table).values(**values).returning(table))
    return dict(row.mappings().one())


async def change(
    session: AsyncSession, table: Table, row_id: int, values: dict[str, Any]
) -> dict[str, Any] | None:
    if not values:
        return await get(session, table, row_id)
    row = await session.execute(
        update(table).where(table.c.id == row_id).values(**values).returning(table)
    )
    found = row.mappings().first()
    return dict(found) if found else None


async def remove(session: AsyncSession, table: Table, row_id: int) -> bool:
    result = await session.execute(delete(table).where(table.c.id == row_id).returning(table.c.id))
    return result.first() is not None


async def clear_default(session: AsyncSession, table: Table, *where: ColumnElement[bool]) -> None:
    """Unset ``is_default`` on the matching rows (before another row becomes the default)."""
    await session.execute(update(table).where(table.c.is_default, *where).values(is_default=False))
