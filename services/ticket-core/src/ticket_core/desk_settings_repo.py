"""Reading and writing the ``desk_settings`` sections."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from .desk_settings import Branding, DeskOptions, PortalOptions, Section
from .models_desk import desk_settings

M = TypeVar("M", bound=BaseModel)


async def _load(session: AsyncSession, key: Section, model: type[M]) -> M:
    stored = await session.scalar(select(desk_settings.c.value).where(desk_settings.c.key == key))
    return model.model_validate(stored or {})


async def branding(session: AsyncSession) -> Branding:
    return await _load(session, "branding", Branding)


async def desk_options(session: AsyncSession) -> DeskOptions:
    return await _load(session, "desk", DeskOptions)


async def portal_options(session: AsyncSession) -> PortalOptions:
    return await _load(session, "portal", PortalOptions)


async def save(session: AsyncSession, key: Section, value: BaseModel) -> None:
    document = value.model_dump(mode="json")
    statement = insert(desk_settings).values(key=key, value=document)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[desk_settings.c.key],
            set_={"value": statement.excluded.value, "updated_at": func.now()},
        )
    )


async def lock(session: AsyncSession, key: Section) -> None:
    """Serialise read-modify-write of one section (a transaction-scoped advisory lock)."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"desk:{key}"))))


async def change_branding(session: AsyncSession, update: dict[str, Any]) -> Branding:
    """Apply already validated branding fields (``BrandingIn`` values, ``ImageRef`` or None
    for ``logo``/``favicon``) in the caller's transaction, serialised by the section lock."""
    await lock(session, "branding")
    changed = (await branding(session)).model_copy(update=update)
    await save(session, "branding", changed)
    return changed
