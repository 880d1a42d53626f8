"""@mentions of agents in notes and replies: ``@login`` or ``@email`` of an active agent.

An agent's login is the local part of their email address (agents have no separate login
yet). A login two active agents share is ambiguous and ignored (their full address works);
unknown names are ignored. The mentioned agents are announced by one ``agent.mentioned``
ticket event (details ``agent_ids``), which the notifier turns into notifications.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from helpdesk_common import correlation
from helpdesk_common.records import Channel, TicketEvent, TicketEventKind, new_id
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models_org import agents

# "@" not glued to a word (so "bob@example.com" in a sentence is not a mention), then a
# login, optionally followed by "@domain" (a full address).
_MENTION = re.compile(
    r"(?<![\w@.+-])@([a-z0-9][a-z0-9._%+-]*(?:@[a-z0-9-]+(?:\.[a-z0-9-]+)+)?)",
    re.IGNORECASE,
)


def mentioned_names(text: str) -> set[str]:
    """The names mentioned in a text, lower-cased (trailing sentence dots dropped)."""
    return {m.group(1).rstrip(".").lower() for m in _MENTION.finditer(text)}


def resolve(names: Iterable[str], active: Iterable[tuple[int, str]]) -> list[int]:
    """Agent ids the names refer to, given the active agents as (id, email) pairs."""
    wanted = set(names)
    by_email: dict[str, int] = {}
    by_login: dict[str, list[int]] = {}
    for agent_id, email in active:
        address = email.lower()
        by_email[address] = agent_id
        by_login.setdefault(address.split("@", 1)[0], []).append(agent_id)
    found: set[int] = set()
    for name in wanted:
        if "@" in name:
            if name in by_email:
                found.add(by_email[name])
        elif len(by_login.get(name, ())) == 1:
            found.add(by_login[name][0])
    return sorted(found)


async def mentioned_agents(session: AsyncSession, text: str) -> list[int]:
    """The active agents a text mentions (one query, only when it mentions anyone)."""
    names = mentioned_names(text)
    if not names:
        return []
    emails = [n for n in names if "@" in n]
    logins = [n for n in names if "@" not in n]
    address = func.lower(agents.c.email)
    rows = await session.execute(
        select(agents.c.id, agents.c.email).where(
            agents.c.active,
            or_(address.in_(emails), func.split_part(address, "@", 1).in_(logins)),
        )
    )
    return resolve(names, [(int(i), str(e)) for i, e in rows])


def mention_event(
    ticket: dict[str, Any],
    agent_ids: list[int],
    message_id: int,
    channel: str,
    *,
    internal: bool,
    actor_agent_id: int | None = None,
) -> TicketEvent:
    return TicketEvent(
        kind=TicketEventKind.AGENT_MENTIONED,
        ticket_id=ticket["id"],
        ticket_number=ticket["number"],
        contact_id=ticket["contact_id"],
        message_id=message_id,
        channel=Channel(channel),
        status=ticket["status"],
        internal=internal,
        actor_agent_id=actor_agent_id,
        details={"agent_ids": ",".join(str(a) for a in agent_ids)},
        correlation_id=correlation.current() or new_id(),
    )
