"""The benchmarks' own servers: a ``devstack`` Stack on free ports in a temporary folder.

``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` / ``REDIS_URL`` / ``NOTIFIER_SMTP_HOST``
are dropped from the environment first: figures are only comparable on the same kind of
servers, so a benchmark never runs against whatever those point at.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

import asyncpg
from devstack.processes import free_port
from devstack.services import SERVICES
from devstack.stack import Stack, StackConfig


def bench_stack(prefix: str, *, fsync: bool = True) -> Stack:
    """A Stack (not started) with its data in a new temporary folder and free ports."""
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REDIS_URL", "NOTIFIER_SMTP_HOST"):
        os.environ.pop(name, None)
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    return Stack(
        StackConfig(
            data_dir=data_dir,
            pg_port=free_port(),
            redis_port=free_port(),
            kafka_port=free_port(),
            smtp_port=free_port(),
            service_ports={s.name: free_port() for s in SERVICES},
            fsync=fsync,
            persistent_redis=False,
        )
    )


def plain_dsn(stack: Stack) -> str:
    """The stack's database URL for asyncpg (without SQLAlchemy's driver suffix)."""
    assert stack.infra is not None
    return stack.infra.database_url.replace("postgresql+asyncpg://", "postgresql://")


def enable_commit_timestamps(stack: Stack, *, statement_stats: bool = False) -> None:
    """``track_commit_timestamp`` needs a restart; it gives each row's exact commit time.

    ``statement_stats`` also loads ``pg_stat_statements`` (``statement_profile.py``) and
    logs the plan of every statement over 3 ms (``auto_explain``, in PostgreSQL's log)."""
    pg = stack.postgres
    assert pg is not None

    async def alter() -> None:
        conn = await asyncpg.connect(pg.admin_url)
        try:
            await conn.execute("ALTER SYSTEM SET track_commit_timestamp = on")
            if statement_stats:
                for setting in (
                    "shared_preload_libraries = 'pg_stat_statements', 'auto_explain'",
                    "auto_explain.log_min_duration = '3ms'",
                ):
                    await conn.execute(f"ALTER SYSTEM SET {setting}")
        finally:
            await conn.close()

    async def check() -> None:
        conn = await asyncpg.connect(plain_dsn(stack))
        try:
            setting = await conn.fetchval("SHOW track_commit_timestamp")
            tables = await conn.fetchval("SELECT to_regclass('messages') IS NOT NULL")
        finally:
            await conn.close()
        if setting != "on" or not tables:
            raise RuntimeError(f"track_commit_timestamp={setting}, messages table: {tables}")

    asyncio.run(alter())
    pg.stop()
    pg.start(fsync=stack.config.fsync)
    asyncio.run(check())
