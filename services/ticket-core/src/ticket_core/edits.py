"""Edits and parts of messenger messages amend the message they belong to.

An inbound message with ``edit_of`` (a Telegram ``edited_message``, a VK
``message_edit``) replaces the text of the stored message whose ``external_message_id``
it names; one with ``part_of`` (a later item of a Telegram album) adds its attachments
and caption to the album's first message. Each amendment is recorded once in
``message_edits`` (unique idempotency key, with the text it replaced), so a redelivered
edit changes nothing. An amendment whose original is not stored (sent before the bot was
connected, or dead-lettered) is stored as an ordinary message instead: nothing is lost.

``EditAwareInboundHandler`` wraps ticket-core's inbound handler: the batch's ordinary
messages go first (an album's first item and the original of an edit come before their
amendments on the same partition), then the amendments in one transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from helpdesk_common import correlation
from helpdesk_common.consuming import Delivery
from helpdesk_common.logs import get_logger
from helpdesk_common.records import InboundMessage, TicketEvent, TicketEventKind
from helpdesk_common.topics import TICKET_EVENTS
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import repository as repo
from .catalog import ticket_is_internal
from .message_edits import edits
from .outbox import OutboxRelay

log = get_logger(__name__)
InboundHandler = Callable[[list[Delivery[InboundMessage]]], Awaitable[None]]


def amends(message: InboundMessage) -> str | None:
    return message.edit_of or message.part_of


async def _original(session: AsyncSession, message: InboundMessage) -> dict[str, Any] | None:
    row = await session.execute(
        select(repo.messages)
        .where(
            repo.messages.c.external_message_id == amends(message),
            repo.messages.c.channel == message.channel.value,
        )
        .order_by(repo.messages.c.id)
        .limit(1)
        .with_for_update()
    )
    found = row.mappings().first()
    return dict(found) if found else None


def _amended(original: dict[str, Any], message: InboundMessage) -> dict[str, Any]:
    new_attachments = [a.model_dump(mode="json") for a in message.attachments]
    fields = dict(original["fields"] or {})
    if message.edit_of:
        fields["edited_at"] = (message.sent_at or message.received_at).isoformat()
        fields["edit_count"] = str(int(fields.get("edit_count", "0")) + 1)
        return {
            "text": message.text,
            "attachments": new_attachments or original["attachments"],
            "fields": fields,
        }
    text = "\n\n".join(t for t in (original["text"], message.text) if t.strip())
    fields["parts"] = str(int(fields.get("parts", "1")) + 1)
    return {
        "text": text,
        "attachments": [*original["attachments"], *new_attachments],
        "fields": fields,
    }


async def apply_amendment(session: AsyncSession, message: InboundMessage) -> int | None:
    """Amend the original in the caller's transaction; returns the outbox id of the event,
    0 when this amendment was applied before, None when the original is not stored."""
    original = await _original(session, message)
    if original is None:
        return None
    recorded = await session.execute(
        insert(edits)
        .values(
            message_id=original["id"],
            idempotency_key=message.idempotency_key,
            kind="edit" if message.edit_of else "part",
            text=message.text,
            previous_text=original["text"],
            attachments=[a.model_dump(mode="json") for a in message.attachments],
            correlation_id=message.correlation_id,
        )
        .on_conflict_do_nothing(index_elements=[edits.c.idempotency_key])
        .returning(edits.c.id)
    )
    if recorded.scalar_one_or_none() is None:
        return 0
    await session.execute(
        update(repo.messages)
        .where(repo.messages.c.id == original["id"])
        .values(**_amended(original, message))
    )
    ticket = await repo.ticket_by_id(session, original["ticket_id"])
    assert ticket is not None
    event = TicketEvent(
        kind=TicketEventKind.MESSAGE_UPDATED,
        ticket_id=ticket["id"],
        ticket_number=ticket["number"],
        contact_id=ticket["contact_id"],
        message_id=original["id"],
        channel=message.channel,
        status=ticket["status"],
        internal=await ticket_is_internal(session, ticket["type_id"]),
        correlation_id=message.correlation_id,
    )
    log.info(
        "inbound_amended",
        kind="edit" if message.edit_of else "part",
        ticket_id=ticket["id"],
        message_id=original["id"],
    )
    ids = await repo.add_outbox(session, [(TICKET_EVENTS.name, event.model_dump_json())])
    return ids[0]


class EditAwareInboundHandler:
    def __init__(
        self,
        inner: InboundHandler,
        sessions: async_sessionmaker[AsyncSession],
        relay: OutboxRelay,
    ) -> None:
        self._inner = inner
        self._sessions = sessions
        self._relay = relay

    async def __call__(self, batch: list[Delivery[InboundMessage]]) -> None:
        plain = [d for d in batch if amends(d.record) is None]
        amendments = [d for d in batch if amends(d.record) is not None]
        if plain:
            await self._inner(plain)
        if not amendments:
            return
        orphans: list[Delivery[InboundMessage]] = []
        outbox_ids: list[int] = []
        async with self._sessions() as session, session.begin():
            stored = await repo.existing_idempotency_keys(
                session, [d.record.idempotency_key for d in amendments]
            )
            for delivery in amendments:
                with correlation.bound(delivery.correlation_id):
                    if delivery.record.idempotency_key in stored:
                        continue  # stored earlier as an orphan
                    outcome = await apply_amendment(session, delivery.record)
                if outcome is None:
                    orphans.append(delivery)
                elif outcome:
                    outbox_ids.append(outcome)
        await self._relay.flush_quietly(outbox_ids)
        if orphans:
            log.info("amendments_without_original", count=len(orphans))
            await self._inner(orphans)
