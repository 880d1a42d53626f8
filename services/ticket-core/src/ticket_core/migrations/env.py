"""Alembic environment: runs migrations over the async engine named by DATABASE_URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel
from ticket_core import models  # noqa: F401 - registers the tables on the metadata
from ticket_core.settings import TicketCoreSettings

target_metadata = SQLModel.metadata


def _url() -> str:
    configured = context.config.get_main_option("sqlalchemy.url")
    return configured or TicketCoreSettings().database_url


# Serialises concurrent runs (several replicas or jobs migrating at once).
_MIGRATION_LOCK_ID = 0x7469636B  # "tick"


def _run(connection: Connection) -> None:
    connection.exec_driver_sql(f"SELECT pg_advisory_lock({_MIGRATION_LOCK_ID})")
    connection.commit()  # the session-level lock outlives this transaction
    try:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    finally:
        connection.exec_driver_sql(f"SELECT pg_advisory_unlock({_MIGRATION_LOCK_ID})")
        connection.commit()


async def _run_online() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
