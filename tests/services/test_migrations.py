"""Alembic migrations against the real PostgreSQL: in step with the models, reversible,
and safe to run from several processes at once."""

from __future__ import annotations

import os
import subprocess
import sys

from alembic import command
from ticket_core.migrate import alembic_config, upgrade


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
