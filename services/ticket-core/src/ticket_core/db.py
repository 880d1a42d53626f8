from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from .settings import TicketCoreSettings


def make_engine(settings: TicketCoreSettings, *, pre_ping: bool = True) -> AsyncEngine:
    """``pre_ping`` tests each connection on checkout (three round trips with asyncpg:
    BEGIN, an empty statement, ROLLBACK), so a request never fails on a connection the
    server dropped. The broker consumers go without it (``consumer_engine``): a dead
    connection fails their batch with an invalidated-connection error, which is transient
    (``handlers.is_transient``), so the batch is rewound and retried on a new connection."""
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        pool_pre_ping=pre_ping,
    )


def consumer_engine(settings: TicketCoreSettings) -> AsyncEngine:
    """The engine of the broker consumers and the outbox relay: no ping per checkout."""
    return make_engine(settings, pre_ping=False)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
