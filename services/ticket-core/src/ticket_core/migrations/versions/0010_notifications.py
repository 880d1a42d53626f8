"""notifications: types, settings, agent notification profiles, group notify lists

The default types, templates and layout live in code
(``helpdesk_common.notification_templates``); these tables hold what an admin changed.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 19:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _updated() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "notification_types",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("email_on", sa.Boolean(), nullable=False),
        sa.Column("sms_on", sa.Boolean(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sms", sa.Text(), nullable=False),
        sa.Column(
            "status_ids",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        _updated(),
        sa.PrimaryKeyConstraint("key", name="pk_notification_types"),
    )
    op.create_table(
        "notification_settings",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("sender_name", sa.Text(), nullable=False),
        sa.Column("reply_to", sa.Text(), nullable=True),
        sa.Column("layout", sa.Text(), nullable=False),
        sa.Column("fallback_to_company_email", sa.Boolean(), nullable=False),
        sa.Column("company_copy", sa.Text(), nullable=False),
        sa.Column("copy_to_author", sa.Boolean(), nullable=False),
        sa.Column("sms_account", sa.Text(), nullable=True),
        _updated(),
        sa.CheckConstraint("id = 1", name="ck_notification_settings_single"),
        sa.CheckConstraint(
            "company_copy IN ('never', 'always', 'no_contact_email', 'no_contact')",
            name="ck_notification_settings_company_copy",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_notification_settings"),
    )
    op.create_table(
        "agent_notification_profiles",
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.Column("mobile_phone", sa.Text(), nullable=True),
        sa.Column("email_on", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("sms_on", sa.Boolean(), server_default="true", nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name="fk_agent_notification_profiles_agent_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", name="pk_agent_notification_profiles"),
    )
    op.create_table(
        "group_notify_members",
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["agent_groups.id"],
            name="fk_group_notify_members_group_id",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name="fk_group_notify_members_agent_id", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("group_id", "agent_id", name="pk_group_notify_members"),
    )
    op.create_index(
        "ix_group_notify_members_agent_id", "group_notify_members", ["agent_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_group_notify_members_agent_id", table_name="group_notify_members")
    op.drop_table("group_notify_members")
    op.drop_table("agent_notification_profiles")
    op.drop_table("notification_settings")
    op.drop_table("notification_types")
