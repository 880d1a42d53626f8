"""What the console's "New ticket" page reads: contacts matching what the agent typed
(name, email or phone), for the suggestions and for a contact given by name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..repository import contacts


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def matching_contacts(
    session: AsyncSession, text: str, limit: int = 10
) -> list[dict[str, Any]]:
    """Contacts whose name, email or phone contains ``text`` (case-insensitive)."""
    wanted = text.strip()
    if len(wanted) < 2:
        return []
    c = contacts.c
    pattern = _like(wanted)
    rows = await session.execute(
        select(c.id, c.display_name, c.email, c.phone)
        .where(
            or_(
                c.display_name.ilike(pattern, escape="\\"),
                c.email.ilike(pattern, escape="\\"),
                c.phone.ilike(pattern, escape="\\"),
            )
        )
        .order_by(c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in rows.mappings()]


async def contacts_named(session: AsyncSession, name: str, limit: int = 5) -> list[dict[str, Any]]:
    """Contacts whose name is exactly ``name`` (case-insensitive)."""
    c = contacts.c
    rows = await session.execute(
        select(c.id, c.display_name, c.email, c.phone)
        .where(c.display_name.ilike(_like(name.strip())[1:-1], escape="\\"))
        .order_by(c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in rows.mappings()]
