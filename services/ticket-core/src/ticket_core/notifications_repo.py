"""Persistence of the notification configuration: types (over the defaults in code),
settings, agent notification profiles, group notify lists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from helpdesk_common.notification_templates import DEFAULT_LAYOUT, TYPES
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from .models_notifications import (
    agent_profiles,
    group_notify_members,
    notification_settings,
    notification_types,
)

DEFAULT_SETTINGS: dict[str, Any] = {
    "sender_name": "Support",
    "reply_to": None,
    "layout": DEFAULT_LAYOUT,
    "fallback_to_company_email": True,
    "company_copy": "never",
    "copy_to_author": False,
    "sms_account": None,
}


def _default_type(key: str) -> dict[str, Any]:
    t = TYPES[key]
    return {
        "key": key,
        "audience": t.audience.value,
        "title": t.title,
        "enabled": t.enabled,
        "email_on": t.email_on,
        "sms_on": t.sms_on,
        "subject": t.subject,
        "body": t.body,
        "sms": t.sms,
        "status_ids": [],
        "customised": False,
    }


async def types(session: AsyncSession) -> list[dict[str, Any]]:
    """Every type: the admin's row over the default."""
    rows = await session.execute(select(notification_types))
    stored = {r["key"]: dict(r) for r in rows.mappings()}
    merged = []
    for key in TYPES:
        item = _default_type(key)
        if key in stored:
            row = stored[key]
            row.pop("updated_at", None)
            item.update(row, customised=True)
        merged.append(item)
    return merged


async def type_by_key(session: AsyncSession, key: str) -> dict[str, Any] | None:
    return next((t for t in await types(session) if t["key"] == key), None)


async def save_type(session: AsyncSession, item: dict[str, Any]) -> None:
    values = {k: item[k] for k in ("key", "enabled", "email_on", "sms_on", "subject", "body")}
    values.update(sms=item["sms"], status_ids=list(item["status_ids"]))
    statement = insert(notification_types).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[notification_types.c.key],
            set_={
                **{k: statement.excluded[k] for k in values if k != "key"},
                "updated_at": func.now(),
            },
        )
    )


async def reset_type(session: AsyncSession, key: str) -> None:
    await session.execute(delete(notification_types).where(notification_types.c.key == key))


async def settings(session: AsyncSession) -> dict[str, Any]:
    row = (await session.execute(select(notification_settings))).mappings().first()
    if row is None:
        return dict(DEFAULT_SETTINGS)
    return {k: row[k] for k in DEFAULT_SETTINGS}


async def save_settings(session: AsyncSession, values: dict[str, Any]) -> None:
    statement = insert(notification_settings).values(id=1, **values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[notification_settings.c.id],
            set_={**{k: statement.excluded[k] for k in values}, "updated_at": func.now()},
        )
    )


async def profile(session: AsyncSession, agent_id: int) -> dict[str, Any]:
    row = (
        (await session.execute(select(agent_profiles).where(agent_profiles.c.agent_id == agent_id)))
        .mappings()
        .first()
    )
    if row is None:
        return {"agent_id": agent_id, "mobile_phone": None, "email_on": True, "sms_on": True}
    return dict(row)


async def save_profile(session: AsyncSession, values: dict[str, Any]) -> None:
    statement = insert(agent_profiles).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[agent_profiles.c.agent_id],
            set_={k: statement.excluded[k] for k in values if k != "agent_id"},
        )
    )


async def notify_members(session: AsyncSession, group_ids: Iterable[int]) -> dict[int, list[int]]:
    ids = list(group_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(group_notify_members.c.group_id, group_notify_members.c.agent_id)
        .where(group_notify_members.c.group_id.in_(ids))
        .order_by(group_notify_members.c.agent_id)
    )
    found: dict[int, list[int]] = {}
    for group_id, agent_id in rows:
        found.setdefault(int(group_id), []).append(int(agent_id))
    return found


async def set_notify_members(
    session: AsyncSession, group_id: int, agent_ids: Sequence[int]
) -> None:
    await session.execute(
        delete(group_notify_members).where(group_notify_members.c.group_id == group_id)
    )
    if agent_ids:
        await session.execute(
            insert(group_notify_members),
            [{"group_id": group_id, "agent_id": a} for a in dict.fromkeys(agent_ids)],
        )
