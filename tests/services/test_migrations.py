"""Alembic migrations against the real PostgreSQL: in step with the models, reversible,
and safe to run from several processes at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import asyncpg
import pytest
from alembic import command
from ticket_core.migrate import alembic_config, upgrade


@pytest.fixture
def scratch_database(infra):  # type: ignore[no-untyped-def]
    name = f"mig_{uuid.uuid4().hex[:8]}"
    admin = (
        infra.database_url.replace("postgresql+asyncpg", "postgresql").rsplit("/", 1)[0]
        + "/postgres"
    )

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield infra.database_url.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(run(f'DROP DATABASE "{name}" WITH (FORCE)'))


def test_models_and_migrations_agree_and_downgrade_works(scratch_database: str) -> None:
    upgrade(scratch_database)
    command.check(alembic_config(scratch_database))  # raises if the models drifted
    command.downgrade(alembic_config(scratch_database), "base")
    upgrade(scratch_database)
    command.check(alembic_config(scratch_database))


def test_concurrent_upgrades_do_not_collide(scratch_database: str) -> None:
    env = {**os.environ, "DATABASE_URL": scratch_database}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "ticket_core.migrate"], env=env, stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    errors = [run.communicate(timeout=120)[1].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], errors
    command.check(alembic_config(scratch_database))
