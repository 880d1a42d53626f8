"""Persistence of the notification configuration, and the notification context of a ticket
(what the notifier needs to pick recipients and fill templates), read in one session."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from helpdesk_common.notification_templates import DEFAULT_LAYOUT, TYPES
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from . import repository as repo
from .catalog import Catalog, load_catalog
from .models_notifications import (
    agent_profiles,
    group_notify_members,
    notification_settings,
    notification_types,
)
from .models_org import agents, companies
from .models_workflow import observer_agents, observer_groups

DEFAULT_SETTINGS: dict[str, Any] = {
    "sender_name": "Support",
    "reply_to": None,
    "layout": DEFAULT_LAYOUT,
    "fallback_to_company_email": True,
    "company_copy": "never",
    "copy_to_author": False,
    "sms_account": None,
}


def rating_url(ticket: dict[str, Any]) -> str | None:
    """PLACEHOLDER (notifications branch): the link where a contact rates a resolved ticket.

    The ratings work implements this in ``ticket_core/ratings.py``; at merge the lead
    replaces this body with a call to it. Until then there is no link (templates show
    the rating paragraph only when ``rating_url`` is set).
    """
    return None


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


async def _agents(session: AsyncSession, ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = await session.execute(
        select(
            agents.c.id,
            agents.c.name,
            agents.c.email,
            agents.c.active,
            agent_profiles.c.mobile_phone,
            agent_profiles.c.email_on,
            agent_profiles.c.sms_on,
        )
        .select_from(agents.outerjoin(agent_profiles, agent_profiles.c.agent_id == agents.c.id))
        .where(agents.c.id.in_(ids))
    )
    return {
        int(r["id"]): {
            "id": int(r["id"]),
            "name": r["name"],
            "email": r["email"],
            "phone": r["mobile_phone"],
            "active": bool(r["active"]),
            "email_on": r["email_on"] is not False,
            "sms_on": r["sms_on"] is not False,
        }
        for r in rows.mappings()
    }


async def _contact(session: AsyncSession, contact_id: int | None) -> dict[str, Any] | None:
    if contact_id is None:
        return None
    contact = await repo.contact_by_id(session, contact_id)
    if contact is None:
        return None
    phone = contact["phone"] or await repo.identity_value(session, contact_id, "phone")
    return {
        "id": contact_id,
        "name": contact["display_name"],
        "email": contact["email"],
        "phone": phone,
        "company_id": contact["company_id"],
    }


async def _company(session: AsyncSession, company_id: int | None) -> dict[str, Any] | None:
    if company_id is None:
        return None
    row = (
        (
            await session.execute(
                select(companies.c.id, companies.c.name, companies.c.notification_email).where(
                    companies.c.id == company_id
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return {"id": row["id"], "name": row["name"], "email": row["notification_email"]}


def _ticket(ticket: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    return {
        "id": ticket["id"],
        "number": ticket["number"],
        "subject": ticket["subject"],
        "status": ticket["status"],
        "status_id": ticket["status_id"],
        "status_name": catalog.status_name(ticket["status_id"]) or ticket["status"],
        "priority": catalog.priorities.get(ticket["priority_id"], ""),
        "type": catalog.types.get(ticket["type_id"], "") if ticket["type_id"] else "",
        "internal": catalog.is_internal(ticket["type_id"]),
        "channel": ticket["channel"],
        "created_at": ticket["created_at"].isoformat() if ticket["created_at"] else None,
    }


async def context(
    session: AsyncSession,
    ticket_id: int,
    message_id: int | None,
    extra_agent_ids: Iterable[int],
    catalog: Catalog | None = None,
    first_message: bool = False,
) -> dict[str, Any] | None:
    """Everything the notifier needs about one ticket now; None when it does not exist.
    ``message`` is the message asked for, or with ``first_message`` the ticket's first."""
    ticket = await repo.ticket_by_id(session, ticket_id)
    if ticket is None:
        return None
    first_id = await session.scalar(
        select(func.min(repo.messages.c.id)).where(repo.messages.c.ticket_id == ticket_id)
    )
    if message_id is None and first_message:
        message_id = first_id
    catalog = catalog or await load_catalog(session)
    contact = await _contact(session, ticket["contact_id"])
    company_id = ticket["company_id"] or (contact or {}).get("company_id")
    observer_ids = [
        int(a)
        for a in await session.scalars(
            select(observer_agents.c.agent_id).where(observer_agents.c.ticket_id == ticket_id)
        )
    ]
    group_ids = [
        int(g)
        for g in await session.scalars(
            select(observer_groups.c.group_id).where(observer_groups.c.ticket_id == ticket_id)
        )
    ]
    if ticket["responsible_group_id"] is not None:
        group_ids.insert(0, int(ticket["responsible_group_id"]))
    members = await notify_members(session, group_ids)
    group_agent_ids = list(dict.fromkeys(a for g in group_ids for a in members.get(g, [])))
    message: dict[str, Any] | None = None
    wanted = {*observer_ids, *group_agent_ids, *extra_agent_ids}
    if ticket["responsible_agent_id"] is not None:
        wanted.add(int(ticket["responsible_agent_id"]))
    if message_id is not None:
        row = (
            (await session.execute(select(repo.messages).where(repo.messages.c.id == message_id)))
            .mappings()
            .first()
        )
        if row is not None and row["ticket_id"] == ticket_id:
            author = await _contact(session, row["author_contact_id"])
            message = {
                "id": row["id"],
                "kind": row["kind"],
                "channel": row["channel"],
                "text": row["text"],
                "recipients": list(row["recipients"] or []),
                "automatic": bool(row["auto_submitted"] or row["is_bounce"]),
                "author": author,
            }
    return {
        "ticket": _ticket(ticket, catalog),
        "contact": contact,
        "company": await _company(session, company_id),
        "responsible_agent_id": ticket["responsible_agent_id"],
        "observer_agent_ids": observer_ids,
        "group_agent_ids": group_agent_ids,
        "agents": {str(k): v for k, v in (await _agents(session, wanted)).items()},
        "message": message,
        "first_message_id": first_id,
        "statuses": {str(s.id): s.name for s in catalog.statuses.values()},
        "rating_url": rating_url(ticket) if ticket["status"] == "resolved" else None,
    }
