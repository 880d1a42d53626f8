"""Merging a contact into another and deleting a contact, in the caller's transaction.

Merge (source -> target): both contacts are locked; the source's identities (emails,
phones, messenger ids), tickets, authored messages, portal account (refused when both
have one) and any other reference move to the target; the target's empty card fields
(name, primary email/phone, company, manager, default observers) take the source's; each
moved ticket gets an audit row (``contact_id``) and a ``field.changed`` event; a
``contact_audit`` row keeps a snapshot of the source, which is then deleted. Ingestion
matches senders on identities, so mail from the source's addresses finds the target.

Delete: refused while the contact has tickets or wrote messages (merge instead);
otherwise the contact, its identities and its portal account go, with an audit row.
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

from . import contact_merge_repo as mrepo
from . import repository as repo
from .audit import Actor, FieldChange, audit_rows, insert_audit
from .catalog import load_catalog
from .contact_merge_rules import (
    MergeConflict,
    check_pair,
    deletion_refusal,
    filled_card,
    portal_conflict,
    snapshot,
)

log = get_logger(__name__)


class ContactMissing(LookupError):
    def __init__(self, contact_id: int) -> None:
        super().__init__(f"contact {contact_id} not found")
        self.contact_id = contact_id


@dataclass
class MergeResult:
    source_id: int
    target_id: int
    identities: int = 0
    ticket_ids: list[int] = field(default_factory=list)
    messages: int = 0
    portal_account: bool = False
    filled: list[str] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)


async def merge_contacts(
    session: AsyncSession, source_id: int, target_id: int, actor: Actor, now: datetime
) -> MergeResult:
    """``MergeError``: 422, ``ContactMissing``: 404, ``MergeConflict``: 409."""
    check_pair(source_id, target_id)
    locked = await mrepo.lock_contacts(session, (source_id, target_id))
    for contact_id in (source_id, target_id):
        if contact_id not in locked:
            raise ContactMissing(contact_id)
    source, target = locked[source_id], locked[target_id]
    source_login = await mrepo.portal_login(session, source_id)
    target_login = await mrepo.portal_login(session, target_id)
    portal_conflict(source_id, target_id, source_login is not None, target_login is not None)
    known = await mrepo.identities_of(session, source_id)

    result = MergeResult(source_id, target_id)
    result.identities = await mrepo.move_identities(session, source_id, target_id)
    primaries = [(k, source[k].strip()) for k in ("email", "phone") if source[k]]
    await mrepo.add_free_identities(
        session, target_id, [(k, v.lower() if k == "email" else v) for k, v in primaries]
    )
    card = filled_card(source, target)
    await mrepo.set_card(session, target_id, card)
    result.filled = sorted(card)
    moved = await mrepo.move_tickets(session, source_id, target_id)
    result.ticket_ids = [int(t["id"]) for t in moved]
    result.messages = await mrepo.move_messages(session, source_id, target_id)
    result.portal_account = await mrepo.move_portal_account(session, source_id, target_id)
    for table, column in await mrepo.other_references(session):
        await mrepo.move_references(session, table, column, source_id, target_id)
        log.info("contact_references_moved", table=table, column=column)
    # earlier merges into the source now name the target
    await mrepo.repoint_audit(session, source_id, target_id)
    reason = f"contact {source_id} merged into contact {target_id}"
    await insert_audit(
        session,
        [
            row
            for t in moved
            for row in audit_rows(
                int(t["id"]), actor, [FieldChange("contact_id", source_id, target_id)], now, reason
            )
        ],
    )
    result.outbox_ids = await _events(session, moved, source_id, actor)
    await mrepo.record(
        session,
        source_id,
        "merged",
        target_id,
        actor.agent_id,
        snapshot(
            source,
            known,
            ticket_ids=result.ticket_ids,
            portal_login=source_login,
            filled=result.filled,
        ),
        now,
    )
    await mrepo.delete_contact(session, source_id)
    return result


async def _events(
    session: AsyncSession, moved: list[dict[str, Any]], source_id: int, actor: Actor
) -> list[int]:
    if not moved:
        return []
    catalog = await load_catalog(session)
    correlation_id = correlation.current() or new_id()
    events = [
        TicketEvent(
            kind=TicketEventKind.FIELD_CHANGED,
            ticket_id=t["id"],
            ticket_number=t["number"],
            contact_id=t["contact_id"],
            channel=Channel(t["channel"]),
            status=t["status"],
            internal=catalog.is_internal(t["type_id"]),
            actor_agent_id=actor.agent_id,
            details={"field": "contact_id", "previous_contact_id": str(source_id)},
            correlation_id=correlation_id,
        )
        for t in moved
    ]
    return await repo.add_outbox(
        session, [(TICKET_EVENTS.name, e.model_dump_json()) for e in events]
    )


async def delete_contact(
    session: AsyncSession, contact_id: int, actor: Actor, now: datetime
) -> None:
    """``ContactMissing``: 404, ``MergeConflict``: 409 (tickets or messages)."""
    locked = await mrepo.lock_contacts(session, [contact_id])
    if contact_id not in locked:
        raise ContactMissing(contact_id)
    tickets, messages = await mrepo.counts(session, contact_id)
    refusal = deletion_refusal(contact_id, tickets, messages)
    if refusal is not None:
        raise MergeConflict(refusal)
    await mrepo.record(
        session,
        contact_id,
        "deleted",
        None,
        actor.agent_id,
        snapshot(
            locked[contact_id],
            await mrepo.identities_of(session, contact_id),
            portal_login=await mrepo.portal_login(session, contact_id),
        ),
        now,
    )
    await mrepo.delete_contact(session, contact_id)
