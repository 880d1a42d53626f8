"""Bounces of our own mails: a system note on the ticket and a failed delivery state."""

from __future__ import annotations

from helpdesk_common.logs import get_logger
from helpdesk_common.records import InboundMessage, TicketEventKind
from sqlalchemy.ext.asyncio import AsyncSession

from . import repository as repo
from .catalog import Catalog
from .inbound_rows import ConcurrentDuplicate, IngestResult, event, message_row
from .models import MessageKind

log = get_logger(__name__)


async def ingest_bounce(
    session: AsyncSession, catalog: Catalog, message: InboundMessage, result: IngestResult
) -> bool:
    """A bounce of one of our mails: a system note on that ticket and a failed delivery.
    Returns False when the original mail is not ours (then it is threaded like any mail)."""
    original_id = message.bounce.original_message_id if message.bounce else None
    original = await repo.message_by_external_id(session, original_id) if original_id else None
    if original is None:
        return False
    assert message.bounce is not None
    reason = (
        f"bounced: {message.bounce.recipient or 'recipient'} {message.bounce.status or ''}".strip()
    )
    await repo.set_delivery_by_message_id(session, original["id"], "failed", reason)
    row = message_row(message, original["ticket_id"], None)
    row.update(kind=MessageKind.SYSTEM, text=f"Delivery failed ({reason}).", full_text=message.text)
    message_id = await repo.insert_message(session, row)
    if message_id is None:
        raise ConcurrentDuplicate(message.idempotency_key)
    ticket = await repo.ticket_by_id(session, original["ticket_id"])
    assert ticket is not None
    result.appended += 1
    result.events.append(
        event(catalog, TicketEventKind.MESSAGE_ADDED, ticket, message, message_id=message_id)
    )
    log.info("bounce_recorded", ticket_id=ticket["id"], message_id=original["id"])
    return True
