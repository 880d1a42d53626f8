"""The audit trail: every change to a ticket, one row per field, written in the same
transaction as the change (bulk: one INSERT for all the rows of a transaction).

Who: ``agent`` (with the agent's id), ``system`` (timers) or ``customer`` (a customer
message that reopened a ticket). Values are stored as text: ids, category names,
ISO-8601 times, comma-separated id lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models_workflow import audit

ActorKind = Literal["agent", "system", "customer"]


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    agent_id: int | None = None

    @classmethod
    def agent(cls, agent_id: int) -> Actor:
        return cls("agent", agent_id)

    @property
    def is_agent(self) -> bool:
        return self.kind == "agent"


SYSTEM = Actor("system")
CUSTOMER = Actor("customer")


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(v) for v in sorted(value))
    return str(value)


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


def changes_between(
    before: dict[str, Any], after: dict[str, Any], fields: Sequence[str]
) -> list[FieldChange]:
    return [
        FieldChange(f, before.get(f), after.get(f)) for f in fields if before.get(f) != after.get(f)
    ]


def audit_rows(
    ticket_id: int,
    actor: Actor,
    changes: Sequence[FieldChange],
    at: datetime,
    reason: str | None = None,
) -> list[dict[str, Any]]:
    return [
        {
            "ticket_id": ticket_id,
            "actor": actor.kind,
            "agent_id": actor.agent_id,
            "field": change.field,
            "old_value": as_text(change.old),
            "new_value": as_text(change.new),
            "reason": reason,
            "created_at": at,
        }
        for change in changes
    ]


async def insert_audit(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(audit), list(rows))


async def audit_page(
    session: AsyncSession, ticket_id: int, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    where = audit.c.ticket_id == ticket_id
    total = await session.scalar(select(func.count()).select_from(audit).where(where))
    rows = await session.execute(
        select(audit).where(where).order_by(audit.c.id).limit(limit).offset(offset)
    )
    return int(total or 0), [dict(r) for r in rows.mappings()]
