"""replies and delivery state, possible duplicates

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 17:19:53.347286
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "messages",
        sa.Column(
            "recipients",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
    )
    op.add_column("messages", sa.Column("outbound_id", sa.Text(), nullable=True))
    op.add_column("messages", sa.Column("delivery_state", sa.Text(), nullable=True))
    op.add_column("messages", sa.Column("delivery_reason", sa.Text(), nullable=True))
    op.create_unique_constraint("messages_outbound_id_key", "messages", ["outbound_id"])
    op.add_column("tickets", sa.Column("possible_duplicate_of_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        "tickets_possible_duplicate_of_id_fkey",
        "tickets",
        "tickets",
        ["possible_duplicate_of_id"],
        ["id"],
    )


def downgrade() -> None:
    op.drop_constraint("tickets_possible_duplicate_of_id_fkey", "tickets", type_="foreignkey")
    op.drop_column("tickets", "possible_duplicate_of_id")
    op.drop_constraint("messages_outbound_id_key", "messages", type_="unique")
    op.drop_column("messages", "delivery_reason")
    op.drop_column("messages", "delivery_state")
    op.drop_column("messages", "outbound_id")
    op.drop_column("messages", "recipients")
