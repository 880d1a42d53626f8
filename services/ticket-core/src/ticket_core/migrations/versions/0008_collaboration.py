"""collaboration: escalations, canned responses, satisfaction ratings

``ticket_escalations`` records each pass of a ticket to the second line and its return
(at most one open per ticket); ``canned_responses`` holds reply templates per agent
group; tickets get ``rating``, ``rating_comment`` and ``rated_at``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 19:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_escalations",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("line", sa.SmallInteger(), nullable=False),
        sa.Column("to_group_id", sa.BigInteger(), nullable=False),
        sa.Column("from_agent_id", sa.BigInteger(), nullable=True),
        sa.Column("from_group_id", sa.BigInteger(), nullable=True),
        sa.Column("escalated_by", sa.BigInteger(), nullable=False),
        sa.Column("returned_by", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("line IN (1, 2)", name="ck_ticket_escalations_line"),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_ticket_escalations_ticket_id"
        ),
        sa.ForeignKeyConstraint(
            ["to_group_id"], ["agent_groups.id"], name="fk_ticket_escalations_to_group_id"
        ),
        sa.ForeignKeyConstraint(
            ["from_agent_id"], ["agents.id"], name="fk_ticket_escalations_from_agent_id"
        ),
        sa.ForeignKeyConstraint(
            ["from_group_id"], ["agent_groups.id"], name="fk_ticket_escalations_from_group_id"
        ),
        sa.ForeignKeyConstraint(
            ["escalated_by"], ["agents.id"], name="fk_ticket_escalations_escalated_by"
        ),
        sa.ForeignKeyConstraint(
            ["returned_by"], ["agents.id"], name="fk_ticket_escalations_returned_by"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_escalations"),
    )
    op.create_index("ix_ticket_escalations_ticket_id", "ticket_escalations", ["ticket_id", "id"])
    op.create_index(
        "uq_ticket_escalations_open",
        "ticket_escalations",
        ["ticket_id"],
        unique=True,
        postgresql_where=sa.text("returned_at IS NULL"),
    )
    op.create_table(
        "canned_responses",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("group_id", sa.BigInteger(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["agent_groups.id"],
            name="fk_canned_responses_group_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_canned_responses"),
    )
    op.create_index("ix_canned_responses_group_id", "canned_responses", ["group_id", "title"])
    op.add_column("tickets", sa.Column("rating", sa.Text(), nullable=True))
    op.add_column("tickets", sa.Column("rating_comment", sa.Text(), nullable=True))
    op.add_column("tickets", sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("tickets", "rated_at")
    op.drop_column("tickets", "rating_comment")
    op.drop_column("tickets", "rating")
    op.drop_index("ix_canned_responses_group_id", table_name="canned_responses")
    op.drop_table("canned_responses")
    op.drop_index(
        "uq_ticket_escalations_open",
        table_name="ticket_escalations",
        postgresql_where=sa.text("returned_at IS NULL"),
    )
    op.drop_index("ix_ticket_escalations_ticket_id", table_name="ticket_escalations")
    op.drop_table("ticket_escalations")
