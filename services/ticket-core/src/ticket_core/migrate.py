"""``python -m ticket_core.migrate [revision]``: bring the database to the given revision (head).

A PostgreSQL advisory lock serialises concurrent runs (several replicas starting at once).
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url)
    return config


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def main() -> None:
    upgrade(revision=sys.argv[1] if len(sys.argv) > 1 else "head")


if __name__ == "__main__":
    main()
