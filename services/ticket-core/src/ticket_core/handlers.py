"""Broker entry points of ticket-core (thin: decode, transaction, hand to the domain)."""

from __future__ import annotations

from datetime import timedelta

from helpdesk_common.consuming import Delivery, default_is_transient
from helpdesk_common.records import DeliveryEvent, InboundMessage, TicketEvent
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .delivery import apply_delivery_events
from .ingest import ingest_batch
from .outbox import OutboxRelay
from .trigger_engine import handle_events
from .trigger_executor import ExecutorSettings


def is_transient(error: BaseException) -> bool:
    """Database or broker unavailable: rewind and retry, never dead-letter."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(
        error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError
    ) or (default_is_transient(error))


class InboundMessagesHandler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        relay: OutboxRelay,
        reopen_window: timedelta,
    ) -> None:
        self._sessions = sessions
        self._relay = relay
        self._window = reopen_window

    async def __call__(self, batch: list[Delivery[InboundMessage]]) -> None:
        async with self._sessions() as session, session.begin():
            await ingest_batch(session, [d.record for d in batch], reopen_window=self._window)
        self._relay.notify()


class DeliveryEventsHandler:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __call__(self, batch: list[Delivery[DeliveryEvent]]) -> None:
        async with self._sessions() as session, session.begin():
            await apply_delivery_events(session, [d.record for d in batch])


class TriggerEventsHandler:
    """Ticket events -> triggers (its own consumer group): one transaction per batch."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        relay: OutboxRelay,
        settings: ExecutorSettings,
    ) -> None:
        self._sessions = sessions
        self._relay = relay
        self._settings = settings

    async def __call__(self, batch: list[Delivery[TicketEvent]]) -> None:
        async with self._sessions() as session, session.begin():
            fired = await handle_events(session, [d.record for d in batch], self._settings)
        if fired.outbox_ids:
            self._relay.notify()
