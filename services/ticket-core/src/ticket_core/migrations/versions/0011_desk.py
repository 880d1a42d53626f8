"""desk: desk-wide settings (branding, timezone, portal options) and portal accounts

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 20:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "desk_settings",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column(
            "value", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("key", name="pk_desk_settings"),
    )
    op.create_table(
        "portal_accounts",
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("login", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("access", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _now("created_at"),
        _now("password_changed_at"),
        sa.CheckConstraint("access IN ('own', 'company')", name="ck_portal_accounts_access"),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_portal_accounts_contact_id"
        ),
        sa.PrimaryKeyConstraint("contact_id", name="pk_portal_accounts"),
    )
    op.create_index("uq_portal_accounts_login", "portal_accounts", ["login"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_portal_accounts_login", table_name="portal_accounts")
    op.drop_table("portal_accounts")
    op.drop_table("desk_settings")
