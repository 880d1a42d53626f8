"""The notification context of tickets: what the notifier needs to choose recipients and
fill templates, for a whole batch of events in a fixed number of queries (about ten,
whatever the batch size)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from . import repository as repo
from .catalog import Catalog, load_catalog
from .models_notifications import agent_profiles, group_notify_members
from .models_org import agents, companies
from .models_workflow import observer_agents, observer_groups
from .ratings import page_url

Json = dict[str, Any]


@dataclass(frozen=True)
class ContextRequest:
    ticket_id: int
    message_id: int | None = None
    agent_ids: Sequence[int] = field(default_factory=tuple)
    first_message: bool = False


def rating_url(ticket: Json) -> str | None:
    """The page where the contact rates a resolved ticket (``ratings.page_url``)."""
    return page_url(int(ticket["id"]))


def _ticket(ticket: Json, catalog: Catalog) -> Json:
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


async def _rows(session: AsyncSession, query: Any) -> list[Json]:
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def _pairs(
    session: AsyncSession, table: Any, left: str, right: str, ids: Iterable[int]
) -> dict[int, list[int]]:
    wanted = list(set(ids))
    found: dict[int, list[int]] = {}
    if not wanted:
        return found
    rows = await session.execute(
        select(table.c[left], table.c[right])
        .where(table.c[left].in_(wanted))
        .order_by(table.c[left], table.c[right])
    )
    for key, value in rows:
        found.setdefault(int(key), []).append(int(value))
    return found


async def _agents(session: AsyncSession, ids: set[int]) -> dict[str, Json]:
    if not ids:
        return {}
    rows = await _rows(
        session,
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
        .where(agents.c.id.in_(ids)),
    )
    return {
        str(r["id"]): {
            "id": int(r["id"]),
            "name": r["name"],
            "email": r["email"],
            "phone": r["mobile_phone"],
            "active": bool(r["active"]),
            "email_on": r["email_on"] is not False,
            "sms_on": r["sms_on"] is not False,
        }
        for r in rows
    }


async def _contacts(session: AsyncSession, ids: set[int]) -> dict[int, Json]:
    if not ids:
        return {}
    rows = await _rows(session, select(repo.contacts).where(repo.contacts.c.id.in_(ids)))
    phones: dict[int, str] = {}
    identity_rows = await session.execute(
        select(repo.identities.c.contact_id, repo.identities.c.value)
        .where(repo.identities.c.contact_id.in_(ids), repo.identities.c.kind == "phone")
        .order_by(repo.identities.c.id)
    )
    for contact_id, value in identity_rows:
        phones[int(contact_id)] = str(value)  # the latest wins
    return {
        int(r["id"]): {
            "id": int(r["id"]),
            "name": r["display_name"],
            "email": r["email"],
            "phone": r["phone"] or phones.get(int(r["id"])),
            "company_id": r["company_id"],
        }
        for r in rows
    }


async def contexts(
    session: AsyncSession, requests: Sequence[ContextRequest], catalog: Catalog | None = None
) -> list[Json | None]:
    """One context per request (None for a ticket that does not exist)."""
    ticket_ids = {r.ticket_id for r in requests}
    if not ticket_ids:
        return []
    catalog = catalog or await load_catalog(session)
    tickets = {
        int(t["id"]): t
        for t in await _rows(session, select(repo.tickets).where(repo.tickets.c.id.in_(ticket_ids)))
    }
    first_ids = {
        int(t): int(m)
        for t, m in await session.execute(
            select(repo.messages.c.ticket_id, func.min(repo.messages.c.id))
            .where(repo.messages.c.ticket_id.in_(ticket_ids))
            .group_by(repo.messages.c.ticket_id)
        )
    }

    def message_id_of(request: ContextRequest) -> int | None:
        if request.message_id is None and request.first_message:
            return first_ids.get(request.ticket_id)
        return request.message_id

    message_ids = {m for m in map(message_id_of, requests) if m is not None}
    messages = (
        {
            int(m["id"]): m
            for m in await _rows(
                session, select(repo.messages).where(repo.messages.c.id.in_(message_ids))
            )
        }
        if message_ids
        else {}
    )
    contacts = await _contacts(
        session,
        {t["contact_id"] for t in tickets.values() if t["contact_id"] is not None}
        | {m["author_contact_id"] for m in messages.values() if m["author_contact_id"]},
    )
    company_ids = {
        t["company_id"] or (contacts.get(t["contact_id"]) or {}).get("company_id")
        for t in tickets.values()
    } - {None}
    company_rows = (
        await _rows(
            session,
            select(companies.c.id, companies.c.name, companies.c.notification_email).where(
                companies.c.id.in_(company_ids)
            ),
        )
        if company_ids
        else []
    )
    company_map = {
        int(c["id"]): {"id": c["id"], "name": c["name"], "email": c["notification_email"]}
        for c in company_rows
    }
    observers = await _pairs(session, observer_agents, "ticket_id", "agent_id", ticket_ids)
    observing_groups = await _pairs(session, observer_groups, "ticket_id", "group_id", ticket_ids)
    groups_of: dict[int, list[int]] = {}
    for ticket_id, ticket in tickets.items():
        responsible_group = ticket["responsible_group_id"]
        groups_of[ticket_id] = list(
            dict.fromkeys(
                ([int(responsible_group)] if responsible_group is not None else [])
                + observing_groups.get(ticket_id, [])
            )
        )
    notify_lists = await _pairs(
        session,
        group_notify_members,
        "group_id",
        "agent_id",
        (g for groups in groups_of.values() for g in groups),
    )
    group_agents = {
        t: list(dict.fromkeys(a for g in groups for a in notify_lists.get(g, [])))
        for t, groups in groups_of.items()
    }
    wanted_agents: set[int] = {int(a) for r in requests for a in r.agent_ids}
    for ticket_id, ticket in tickets.items():
        wanted_agents.update(observers.get(ticket_id, []), group_agents.get(ticket_id, []))
        if ticket["responsible_agent_id"] is not None:
            wanted_agents.add(int(ticket["responsible_agent_id"]))
    agent_map = await _agents(session, wanted_agents)
    statuses = {str(s.id): s.name for s in catalog.statuses.values()}

    answers: list[Json | None] = []
    for request in requests:
        found = tickets.get(request.ticket_id)
        if found is None:
            answers.append(None)
            continue
        ticket = found
        contact = contacts.get(ticket["contact_id"]) if ticket["contact_id"] else None
        company_id = ticket["company_id"] or (contact or {}).get("company_id")
        involved = {
            *observers.get(request.ticket_id, []),
            *group_agents.get(request.ticket_id, []),
            *request.agent_ids,
        }
        if ticket["responsible_agent_id"] is not None:
            involved.add(int(ticket["responsible_agent_id"]))
        row = messages.get(message_id_of(request) or -1)
        message = None
        if row is not None and row["ticket_id"] == request.ticket_id:
            message = {
                "id": row["id"],
                "kind": row["kind"],
                "channel": row["channel"],
                "text": row["text"],
                "recipients": list(row["recipients"] or []),
                "automatic": bool(row["auto_submitted"] or row["is_bounce"]),
                "author": contacts.get(row["author_contact_id"] or -1),
            }
        answers.append(
            {
                "ticket": _ticket(ticket, catalog),
                "contact": contact,
                "company": company_map.get(company_id) if company_id else None,
                "responsible_agent_id": ticket["responsible_agent_id"],
                "observer_agent_ids": observers.get(request.ticket_id, []),
                "group_agent_ids": group_agents.get(request.ticket_id, []),
                "agents": {str(a): agent_map[str(a)] for a in involved if str(a) in agent_map},
                "message": message,
                "first_message_id": first_ids.get(request.ticket_id),
                "statuses": statuses,
                "rating_url": rating_url(ticket) if ticket["status"] == "resolved" else None,
            }
        )
    return answers
