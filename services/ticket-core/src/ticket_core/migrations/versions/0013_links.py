"""links: ticket links agents make, and the audit of contact merges and deletions

``ticket_links`` (related / parent / duplicate_of, one row per link), indexes on the
ingestion-made links ``tickets.follow_up_of_id`` and ``tickets.possible_duplicate_of_id``
(looked up from the other side), ``contact_audit`` (what a merge or a deletion did).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 22:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "ticket_links",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("linked_ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("created_by_agent_id", sa.BigInteger(), nullable=True),
        _now("created_at"),
        sa.CheckConstraint(
            "kind IN ('related', 'parent', 'duplicate_of')", name="ck_ticket_links_kind"
        ),
        sa.CheckConstraint("ticket_id <> linked_ticket_id", name="ck_ticket_links_not_self"),
        sa.CheckConstraint(
            "kind <> 'related' OR ticket_id < linked_ticket_id", name="ck_ticket_links_related"
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_ticket_links_ticket_id"),
        sa.ForeignKeyConstraint(
            ["linked_ticket_id"], ["tickets.id"], name="fk_ticket_links_linked_ticket_id"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_agent_id"], ["agents.id"], name="fk_ticket_links_created_by_agent_id"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "linked_ticket_id", "kind", name="uq_ticket_links"),
    )
    op.create_index("ix_ticket_links_linked", "ticket_links", ["linked_ticket_id"])
    op.create_index(
        "uq_ticket_links_duplicate_of",
        "ticket_links",
        ["ticket_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'duplicate_of'"),
    )
    op.create_index(
        "ix_tickets_follow_up_of_id",
        "tickets",
        ["follow_up_of_id"],
        postgresql_where=sa.text("follow_up_of_id IS NOT NULL"),
    )
    op.create_index(
        "ix_tickets_possible_duplicate_of_id",
        "tickets",
        ["possible_duplicate_of_id"],
        postgresql_where=sa.text("possible_duplicate_of_id IS NOT NULL"),
    )
    op.create_table(
        "contact_audit",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target_contact_id", sa.BigInteger(), nullable=True),
        sa.Column("agent_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "snapshot", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        _now("created_at"),
        sa.CheckConstraint("action IN ('merged', 'deleted')", name="ck_contact_audit_action"),
        sa.ForeignKeyConstraint(
            ["target_contact_id"],
            ["contacts.id"],
            name="fk_contact_audit_target",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name="fk_contact_audit_agent_id"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_contact_audit_contact_id", "contact_audit", ["contact_id"])
    op.create_index(
        "ix_contact_audit_target",
        "contact_audit",
        ["target_contact_id"],
        postgresql_where=sa.text("target_contact_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_contact_audit_target", table_name="contact_audit")
    op.drop_index("ix_contact_audit_contact_id", table_name="contact_audit")
    op.drop_table("contact_audit")
    op.drop_index("ix_tickets_possible_duplicate_of_id", table_name="tickets")
    op.drop_index("ix_tickets_follow_up_of_id", table_name="tickets")
    op.drop_index("uq_ticket_links_duplicate_of", table_name="ticket_links")
    op.drop_index("ix_ticket_links_linked", table_name="ticket_links")
    op.drop_table("ticket_links")
