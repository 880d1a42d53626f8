"""triggers: automation rules, macros, firing records, ticket tags

Tables ``triggers``, ``macros``, ``trigger_firings`` (one per trigger and event),
``trigger_time_checks`` (one per time-based trigger, ticket and period); ``tickets.tags``.
Seeds the custom status "Waiting for reply" (category open, see docs/triggers.md) and the
two built-in triggers: a customer reply on "Waiting for reply" -> Open (enabled), an agent
public reply on Open -> "Waiting for reply" (disabled).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 19:50:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = "Waiting for reply"
REOPEN = "Customer reply on 'Waiting for reply' -> Open"
WAIT = "Agent public reply on Open -> 'Waiting for reply'"


def _now(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.add_column(
        "tickets",
        sa.Column("tags", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
    )
    op.create_table(
        "triggers",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column(
            "conditions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{\"all\": []}'::jsonb"),
            nullable=False,
        ),
        sa.Column("actions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("time_anchor", sa.Text(), nullable=True),
        sa.Column("time_after_hours", sa.Float(), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        sa.CheckConstraint(
            "event IN ('ticket.created', 'customer.message', 'agent.reply', 'status.changed', "
            "'field.changed', 'sla.warning', 'sla.breached', 'time')",
            name="ck_triggers_event",
        ),
        sa.CheckConstraint(
            "(event = 'time') = (time_anchor IS NOT NULL AND time_after_hours IS NOT NULL)",
            name="ck_triggers_time",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_triggers"),
        sa.UniqueConstraint("name", name="uq_triggers_name"),
    )
    op.create_index("ix_triggers_event_position", "triggers", ["event", "position"])
    op.create_table(
        "macros",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("actions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_macros"),
        sa.UniqueConstraint("name", name="uq_macros_name"),
    )
    op.create_table(
        "trigger_firings",
        sa.Column("trigger_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _now("fired_at"),
        sa.ForeignKeyConstraint(
            ["trigger_id"],
            ["triggers.id"],
            name="fk_trigger_firings_trigger_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("trigger_id", "event_id", name="pk_trigger_firings"),
    )
    op.create_index("ix_trigger_firings_ticket_id", "trigger_firings", ["ticket_id"])
    op.create_table(
        "trigger_time_checks",
        sa.Column("trigger_id", sa.BigInteger(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired", sa.Boolean(), nullable=False),
        sa.Column("ticket_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _now("checked_at"),
        sa.ForeignKeyConstraint(
            ["trigger_id"],
            ["triggers.id"],
            name="fk_trigger_time_checks_trigger_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("trigger_id", "ticket_id", "period", name="pk_trigger_time_checks"),
    )
    _seed()


def _seed() -> None:
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "INSERT INTO statuses (name, category, position, is_default) "
            "VALUES (:name, 'open', 5, false) ON CONFLICT (name) DO NOTHING"
        ),
        {"name": WAITING},
    )
    waiting = bind.execute(
        sa.text("SELECT id FROM statuses WHERE name = :name"), {"name": WAITING}
    ).scalar_one()
    open_id = bind.execute(
        sa.text("SELECT id FROM statuses WHERE category = 'open' AND is_default")
    ).scalar_one()
    insert = sa.text(
        "INSERT INTO triggers (name, event, conditions, actions, position, enabled) "
        "VALUES (:name, :event, CAST(:conditions AS jsonb), CAST(:actions AS jsonb), "
        ":position, :enabled)"
    )
    for name, event, when, then, position, enabled in (
        (REOPEN, "customer.message", waiting, open_id, 1, True),
        (WAIT, "agent.reply", open_id, waiting, 2, False),
    ):
        bind.execute(
            insert,
            {
                "name": name,
                "event": event,
                "conditions": json.dumps(
                    {"all": [{"field": "ticket.status_id", "op": "eq", "value": when}]}
                ),
                "actions": json.dumps([{"type": "set_status", "status_id": then}]),
                "position": position,
                "enabled": enabled,
            },
        )


def downgrade() -> None:
    op.drop_table("trigger_time_checks")
    op.drop_index("ix_trigger_firings_ticket_id", table_name="trigger_firings")
    op.drop_table("trigger_firings")
    op.drop_table("macros")
    op.drop_index("ix_triggers_event_position", table_name="triggers")
    op.drop_table("triggers")
    op.drop_column("tickets", "tags")
    bind = op.get_bind()
    waiting = bind.execute(
        sa.text("SELECT id FROM statuses WHERE name = :name"), {"name": WAITING}
    ).scalar_one_or_none()
    if waiting is not None:
        bind.execute(
            sa.text(
                "UPDATE tickets SET status_id = (SELECT id FROM statuses WHERE category = 'open' "
                "AND is_default) WHERE status_id = :waiting"
            ),
            {"waiting": waiting},
        )
        bind.execute(sa.text("DELETE FROM statuses WHERE id = :id"), {"id": waiting})
