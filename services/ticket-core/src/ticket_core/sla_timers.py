"""SLA timers: warnings before and breaches at the planned reaction and resolution times.

Run by the status timer loop (``timers.fire_due``) in the same round transaction: due
tickets are claimed with ``FOR NO KEY UPDATE SKIP LOCKED`` through the partial indexes of
``models_sla``; each firing sets its marker column (so the row is no longer due for any
replica, and a restart does not fire it again), writes an audit row (``system``) and a
``sla.warning`` / ``sla.breached`` ticket event (details: ``target``, ``due_at``) to the
outbox, all in that one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpdesk_common import correlation
from helpdesk_common.logs import get_logger
from helpdesk_common.records import Channel, TicketEvent, TicketEventKind, new_id
from helpdesk_common.topics import TICKET_EVENTS
from sqlalchemy.ext.asyncio import AsyncSession

from . import repository as repo
from . import sla_repo
from .audit import SYSTEM, FieldChange, audit_rows, insert_audit
from .catalog import load_catalog
from .sla_tickets import Firing, due_firings

log = get_logger(__name__)


@dataclass
class SlaFired:
    ticket_ids: list[int] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)
    firings: int = 0


def _event(ticket: dict[str, Any], firing: Firing, internal: bool, now: datetime) -> TicketEvent:
    return TicketEvent(
        kind=TicketEventKind.SLA_BREACHED if firing.breach else TicketEventKind.SLA_WARNING,
        ticket_id=ticket["id"],
        ticket_number=ticket["number"],
        contact_id=ticket["contact_id"],
        channel=Channel(ticket["channel"]),
        status=ticket["status"],
        internal=internal,
        occurred_at=now,
        details={"target": firing.target, "due_at": firing.due_at.isoformat()},
        correlation_id=correlation.current() or new_id(),
    )


async def fire_sla_due(session: AsyncSession, now: datetime, *, limit: int) -> SlaFired:
    """Fire the SLA timers due at ``now`` (up to ``limit`` tickets per timer kind) inside
    the caller's transaction."""
    fired = SlaFired()
    claimed = await sla_repo.claim_due(session, now, limit)
    if not claimed:
        return fired
    catalog = await load_catalog(session)
    rows, audit, events = [], [], []
    for ticket_id, ticket in sorted(claimed.items()):
        firings, markers = due_firings(ticket, now)
        if not markers:
            continue
        rows.append({**ticket, **markers})
        changes = [FieldChange(column, ticket.get(column), at) for column, at in markers.items()]
        for firing in firings:
            kind = "breach" if firing.breach else "warning"
            audit.extend(
                audit_rows(
                    ticket_id,
                    SYSTEM,
                    [
                        c
                        for c in changes
                        if c.field.startswith(firing.target)
                        and c.field.endswith("breached_at" if firing.breach else "warned_at")
                    ],
                    now,
                    f"SLA {kind}: {firing.target} due at {firing.due_at.isoformat()}",
                )
            )
            events.append(_event(ticket, firing, catalog.is_internal(ticket["type_id"]), now))
        fired.ticket_ids.append(ticket_id)
        fired.firings += len(firings)
    await sla_repo.write_markers(session, rows)
    await insert_audit(session, audit)
    fired.outbox_ids = await repo.add_outbox(
        session, [(TICKET_EVENTS.name, e.model_dump_json()) for e in events]
    )
    if fired.firings:
        log.info("sla_timers_fired", tickets=len(fired.ticket_ids), firings=fired.firings)
    return fired
