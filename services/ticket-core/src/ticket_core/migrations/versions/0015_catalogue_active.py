"""catalogue rows can be switched off: ``active`` on ticket types, priorities, statuses

An inactive row is no longer offered for new choices (pickers, API create and change
answer 422), while the tickets that have it keep it. Every existing row stays active.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("ticket_types", "priorities", "statuses")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table, sa.Column("active", sa.Boolean(), server_default="true", nullable=False)
        )


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "active")
