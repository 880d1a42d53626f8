"""sla: service calendars, SLA rules, planned times and SLA timers on tickets

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 19:55:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS_COLUMNS = (
    "reaction_due_at",
    "reaction_warn_at",
    "reaction_warned_at",
    "reaction_breached_at",
    "resolution_due_at",
    "resolution_warn_at",
    "resolution_warned_at",
    "resolution_breached_at",
    "sla_paused_at",
)
_INDEXES = (
    (
        "ix_tickets_sla_reaction_warn",
        "reaction_warn_at",
        "first_response_at IS NULL AND reaction_warned_at IS NULL",
    ),
    (
        "ix_tickets_sla_reaction_due",
        "reaction_due_at",
        "first_response_at IS NULL AND reaction_breached_at IS NULL",
    ),
    (
        "ix_tickets_sla_resolution_warn",
        "resolution_warn_at",
        "status = 'open' AND resolution_warned_at IS NULL",
    ),
    (
        "ix_tickets_sla_resolution_due",
        "resolution_due_at",
        "status = 'open' AND resolution_breached_at IS NULL",
    ),
)


def _ids(name: str) -> sa.Column[list[int]]:
    return sa.Column(name, postgresql.ARRAY(sa.BigInteger()), server_default="{}", nullable=False)


def upgrade() -> None:
    op.create_table(
        "service_calendars",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column(
            "working_hours",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "exception_days",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_service_calendars"),
        sa.UniqueConstraint("name", name="uq_service_calendars_name"),
    )
    op.create_table(
        "sla_rules",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("calendar_id", sa.BigInteger(), nullable=False),
        _ids("ticket_type_ids"),
        _ids("priority_ids"),
        _ids("company_category_ids"),
        _ids("company_ids"),
        sa.Column(
            "registered_within",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("reaction_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("warning_minutes", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "reaction_minutes > 0 AND resolution_minutes > 0 AND warning_minutes >= 0",
            name="ck_sla_rules_targets",
        ),
        sa.ForeignKeyConstraint(
            ["calendar_id"], ["service_calendars.id"], name="fk_sla_rules_calendar_id"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sla_rules"),
        sa.UniqueConstraint("name", name="uq_sla_rules_name"),
    )
    op.create_index("ix_sla_rules_position", "sla_rules", ["position", "id"], unique=False)

    op.add_column("tickets", sa.Column("sla_rule_id", sa.BigInteger(), nullable=True))
    op.add_column("tickets", sa.Column("sla_warning_seconds", sa.Integer(), nullable=True))
    for name in _TS_COLUMNS:
        op.add_column("tickets", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "tickets",
        sa.Column("sla_paused_seconds", sa.Float(), server_default="0", nullable=False),
    )
    op.create_foreign_key(
        "fk_tickets_sla_rule_id",
        "tickets",
        "sla_rules",
        ["sla_rule_id"],
        ["id"],
        ondelete="SET NULL",
    )
    for index, column, where in _INDEXES:
        op.create_index(index, "tickets", [column], unique=False, postgresql_where=sa.text(where))


def downgrade() -> None:
    for index, _, where in _INDEXES:
        op.drop_index(index, table_name="tickets", postgresql_where=sa.text(where))
    op.drop_constraint("fk_tickets_sla_rule_id", "tickets", type_="foreignkey")
    for name in (
        "sla_paused_seconds",
        *reversed(_TS_COLUMNS),
        "sla_warning_seconds",
        "sla_rule_id",
    ):
        op.drop_column("tickets", name)
    op.drop_index("ix_sla_rules_position", table_name="sla_rules")
    op.drop_table("sla_rules")
    op.drop_table("service_calendars")
