"""The tickets a batch may thread into, loaded with three queries and kept current in memory.

Lookups follow DESIGN.md's order: the subject token's number, then In-Reply-To/References
against stored Message-IDs, then the conversation's latest ticket. Tickets opened and
messages stored earlier in the same batch are visible to later messages of the batch.
Every ticket is one dict object, shared by all the maps, so a status change made for one
message is seen by the next. Candidates a message may change stay locked until the batch
commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from helpdesk_common.records import InboundMessage
from sqlalchemy.ext.asyncio import AsyncSession

from . import batch_repo as batch
from .models import TicketStatus
from .threading import conversation_key, reference_ids

Ticket = dict[str, Any]


class ThreadIndex:
    def __init__(self) -> None:
        self._by_id: dict[int, Ticket] = {}
        self._by_number: dict[int, Ticket] = {}
        self._by_message_id: dict[str, Ticket] = {}
        self._by_conversation: dict[str, Ticket] = {}

    def _one(self, ticket: Ticket) -> Ticket:
        return self._by_id.setdefault(ticket["id"], ticket)

    @classmethod
    async def load(cls, session: AsyncSession, messages: Sequence[InboundMessage]) -> ThreadIndex:
        index = cls()
        found = await batch.thread_candidates(
            session,
            (m.thread.ticket_number for m in messages if m.thread.ticket_number is not None),
            (r for m in messages for r in reference_ids(m)),
            (k for m in messages if (k := conversation_key(m)) is not None),
        )
        for ticket in found.by_number:
            index._by_number[ticket["number"]] = index._one(ticket)
        for ref, ticket in found.by_message_id:
            index._by_message_id[ref] = index._one(ticket)
        for ticket in found.by_conversation:
            index._by_conversation[ticket["conversation_key"]] = index._one(ticket)
        await index._lock(session)
        return index

    async def _lock(self, session: AsyncSession) -> None:
        """Lock the candidates whose status a message may change (all but Open ones) until
        the batch commits, and refresh them: an agent's change or a timer that committed
        since they were read is seen, and none commits in between (no lost update). Open
        candidates need no lock: a message only touches their timestamps, which serialises
        with any concurrent change as if the message came first. One statement, id order."""
        wanted = [i for i, t in self._by_id.items() if t["status"] != TicketStatus.OPEN]
        for fresh in await batch.lock_tickets(session, wanted):
            self._by_id[fresh["id"]].update(fresh)

    def by_reference(self, message: InboundMessage) -> Ticket | None:
        """The ticket named by the subject token, else by the latest known reference."""
        number = message.thread.ticket_number
        if number is not None and number in self._by_number:
            return self._by_number[number]
        for ref in reversed(reference_ids(message)):
            if ref in self._by_message_id:
                return self._by_message_id[ref]
        return None

    def by_conversation(self, message: InboundMessage) -> Ticket | None:
        key = conversation_key(message)
        return self._by_conversation.get(key) if key else None

    def opened(self, ticket: Ticket) -> None:
        """A ticket opened in this batch (its id and number are allocated later)."""
        if ticket["conversation_key"]:
            self._by_conversation[ticket["conversation_key"]] = ticket

    def stored(self, message: InboundMessage, ticket: Ticket) -> None:
        if message.thread.message_id:
            self._by_message_id[message.thread.message_id] = ticket
