"""workflow: organisation, statuses, timers, audit

Companies (with categories and mail domains), agents, groups, ticket types, priorities and
custom statuses (seeded with the defaults), ticket observers and the audit trail; tickets
get their workflow columns. Existing tickets are backfilled: the default custom status of
their category, the default priority, an open span from their creation (open tickets) or a
resolution time up to their resolution (others), and an auto-close time 7 days after
resolution (the default ``TICKET_CORE_AUTO_CLOSE_AFTER_SECONDS``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 18:03:22.768439
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_groups",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_agent_groups"),
        sa.UniqueConstraint("name", name="uq_agent_groups_name"),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), server_default="specialist", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "role IN ('administrator', 'lead_specialist', 'specialist')", name="ck_agents_role"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_agents"),
        sa.UniqueConstraint("email", name="uq_agents_email"),
    )
    op.create_table(
        "company_categories",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_company_categories"),
        sa.UniqueConstraint("name", name="uq_company_categories_name"),
    )
    op.create_table(
        "priorities",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("colour", sa.Text(), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint("colour ~ '^#[0-9a-fA-F]{6}$'", name="ck_priorities_colour"),
        sa.PrimaryKeyConstraint("id", name="pk_priorities"),
        sa.UniqueConstraint("name", name="uq_priorities_name"),
    )
    op.create_index(
        "uq_priorities_default",
        "priorities",
        ["is_default"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    op.create_table(
        "statuses",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint(
            "category IN ('open', 'pending', 'resolved', 'closed')", name="ck_statuses_category"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_statuses"),
        sa.UniqueConstraint("name", name="uq_statuses_name"),
    )
    op.create_index(
        "uq_statuses_default_per_category",
        "statuses",
        ["category"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    op.create_table(
        "ticket_types",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("internal", sa.Boolean(), server_default="false", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_types"),
        sa.UniqueConstraint("name", name="uq_ticket_types_name"),
    )
    op.create_table(
        "agent_group_members",
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name="fk_agent_group_members_agent_id", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["agent_groups.id"],
            name="fk_agent_group_members_group_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "agent_id", name="pk_agent_group_members"),
    )
    op.create_index(
        "ix_agent_group_members_agent_id", "agent_group_members", ["agent_id"], unique=False
    )
    op.create_table(
        "companies",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=False),
        sa.Column("manager_agent_id", sa.BigInteger(), nullable=True),
        sa.Column("notification_email", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["category_id"], ["company_categories.id"], name="fk_companies_category_id"
        ),
        sa.ForeignKeyConstraint(
            ["manager_agent_id"], ["agents.id"], name="fk_companies_manager_agent_id"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_companies"),
        sa.UniqueConstraint("name", name="uq_companies_name"),
    )
    op.create_table(
        "company_domains",
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name="fk_company_domains_company_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("domain", name="pk_company_domains"),
    )
    op.create_index(
        "ix_company_domains_company_id", "company_domains", ["company_id"], unique=False
    )
    op.create_table(
        "ticket_audit",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), nullable=True),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(actor = 'agent') = (agent_id IS NOT NULL)", name="ck_ticket_audit_agent_id"
        ),
        sa.CheckConstraint(
            "actor IN ('agent', 'system', 'customer')", name="ck_ticket_audit_actor"
        ),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name="fk_ticket_audit_agent_id"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_ticket_audit_ticket_id"),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_audit"),
    )
    op.create_index("ix_ticket_audit_ticket_id", "ticket_audit", ["ticket_id", "id"], unique=False)
    op.create_table(
        "ticket_observer_agents",
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name="fk_ticket_observer_agents_agent_id"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_ticket_observer_agents_ticket_id"
        ),
        sa.PrimaryKeyConstraint("ticket_id", "agent_id", name="pk_ticket_observer_agents"),
    )
    op.create_index(
        "ix_ticket_observer_agents_agent_id", "ticket_observer_agents", ["agent_id"], unique=False
    )
    op.create_table(
        "ticket_observer_groups",
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["agent_groups.id"], name="fk_ticket_observer_groups_group_id"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_ticket_observer_groups_ticket_id"
        ),
        sa.PrimaryKeyConstraint("ticket_id", "group_id", name="pk_ticket_observer_groups"),
    )
    op.create_index(
        "ix_ticket_observer_groups_group_id", "ticket_observer_groups", ["group_id"], unique=False
    )
    op.add_column("contacts", sa.Column("company_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key("fk_contacts_company_id", "contacts", "companies", ["company_id"], ["id"])
    op.add_column("tickets", sa.Column("status_id", sa.BigInteger(), nullable=True))
    op.add_column("tickets", sa.Column("priority_id", sa.BigInteger(), nullable=True))
    op.add_column("tickets", sa.Column("type_id", sa.BigInteger(), nullable=True))
    op.add_column("tickets", sa.Column("company_id", sa.BigInteger(), nullable=True))
    op.add_column("tickets", sa.Column("responsible_agent_id", sa.BigInteger(), nullable=True))
    op.add_column("tickets", sa.Column("responsible_group_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "tickets", sa.Column("reopen_count", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("tickets", sa.Column("pending_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tickets", sa.Column("auto_close_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "tickets", sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "tickets", sa.Column("worked_seconds", sa.Float(), server_default="0", nullable=False)
    )
    op.add_column("tickets", sa.Column("open_since", sa.DateTime(timezone=True), nullable=True))
    _seed()
    _backfill_tickets()
    op.alter_column("tickets", "status_id", nullable=False)
    op.alter_column("tickets", "priority_id", nullable=False)
    op.create_index(
        "ix_tickets_auto_close_due",
        "tickets",
        ["auto_close_at"],
        unique=False,
        postgresql_where=sa.text("status = 'resolved'"),
    )
    op.create_index(
        "ix_tickets_company_id",
        "tickets",
        ["company_id"],
        unique=False,
        postgresql_where=sa.text("company_id IS NOT NULL"),
    )
    op.create_index(
        "ix_tickets_pending_due",
        "tickets",
        ["pending_until"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_tickets_responsible_agent_id",
        "tickets",
        ["responsible_agent_id", "status"],
        unique=False,
        postgresql_where=sa.text("responsible_agent_id IS NOT NULL"),
    )
    op.create_index(
        "ix_tickets_responsible_group_id",
        "tickets",
        ["responsible_group_id"],
        unique=False,
        postgresql_where=sa.text("responsible_group_id IS NOT NULL"),
    )
    op.create_index("ix_tickets_status_id", "tickets", ["status_id"], unique=False)
    op.create_foreign_key(
        "fk_tickets_responsible_agent_id", "tickets", "agents", ["responsible_agent_id"], ["id"]
    )
    op.create_foreign_key("fk_tickets_company_id", "tickets", "companies", ["company_id"], ["id"])
    op.create_foreign_key("fk_tickets_type_id", "tickets", "ticket_types", ["type_id"], ["id"])
    op.create_foreign_key("fk_tickets_status_id", "tickets", "statuses", ["status_id"], ["id"])
    op.create_foreign_key(
        "fk_tickets_priority_id", "tickets", "priorities", ["priority_id"], ["id"]
    )
    op.create_foreign_key(
        "fk_tickets_responsible_group_id",
        "tickets",
        "agent_groups",
        ["responsible_group_id"],
        ["id"],
    )


def _seed() -> None:
    categories = sa.table("company_categories", sa.column("name", sa.Text))
    op.bulk_insert(categories, [{"name": n} for n in ("Client", "Partner", "VIP")])
    types = sa.table("ticket_types", sa.column("name", sa.Text), sa.column("internal", sa.Boolean))
    op.bulk_insert(
        types,
        [
            {"name": "incident", "internal": False},
            {"name": "question", "internal": False},
            {"name": "internal", "internal": True},
        ],
    )
    priorities = sa.table(
        "priorities",
        sa.column("name", sa.Text),
        sa.column("position", sa.Integer),
        sa.column("colour", sa.Text),
        sa.column("is_default", sa.Boolean),
    )
    op.bulk_insert(
        priorities,
        [
            {"name": "low", "position": 1, "colour": "#6b7280", "is_default": False},
            {"name": "normal", "position": 2, "colour": "#3b82f6", "is_default": True},
            {"name": "high", "position": 3, "colour": "#f59e0b", "is_default": False},
            {"name": "critical", "position": 4, "colour": "#dc2626", "is_default": False},
        ],
    )
    statuses = sa.table(
        "statuses",
        sa.column("name", sa.Text),
        sa.column("category", sa.Text),
        sa.column("position", sa.Integer),
        sa.column("is_default", sa.Boolean),
    )
    op.bulk_insert(
        statuses,
        [
            {"name": name, "category": name.lower(), "position": i, "is_default": True}
            for i, name in enumerate(("Open", "Pending", "Resolved", "Closed"), start=1)
        ],
    )


def _backfill_tickets() -> None:
    op.execute(
        """
        UPDATE tickets SET
            status_id = (SELECT id FROM statuses s WHERE s.category = tickets.status
                         AND s.is_default),
            priority_id = (SELECT id FROM priorities WHERE is_default),
            open_since = CASE WHEN status = 'open' THEN created_at END,
            worked_seconds = CASE WHEN status = 'open' THEN 0 ELSE greatest(0, extract(epoch
                FROM coalesce(resolved_at, closed_at, updated_at) - created_at)) END,
            auto_close_at = CASE WHEN status = 'resolved'
                THEN coalesce(resolved_at, updated_at) + interval '7 days' END
        """
    )


def downgrade() -> None:
    op.drop_constraint("fk_tickets_responsible_group_id", "tickets", type_="foreignkey")
    op.drop_constraint("fk_tickets_priority_id", "tickets", type_="foreignkey")
    op.drop_constraint("fk_tickets_status_id", "tickets", type_="foreignkey")
    op.drop_constraint("fk_tickets_type_id", "tickets", type_="foreignkey")
    op.drop_constraint("fk_tickets_company_id", "tickets", type_="foreignkey")
    op.drop_constraint("fk_tickets_responsible_agent_id", "tickets", type_="foreignkey")
    op.drop_index("ix_tickets_status_id", table_name="tickets")
    op.drop_index("ix_tickets_responsible_group_id", table_name="tickets")
    op.drop_index("ix_tickets_responsible_agent_id", table_name="tickets")
    op.drop_index(
        "ix_tickets_pending_due",
        table_name="tickets",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index("ix_tickets_company_id", table_name="tickets")
    op.drop_index(
        "ix_tickets_auto_close_due",
        table_name="tickets",
        postgresql_where=sa.text("status = 'resolved'"),
    )
    op.drop_column("tickets", "open_since")
    op.drop_column("tickets", "worked_seconds")
    op.drop_column("tickets", "first_response_at")
    op.drop_column("tickets", "auto_close_at")
    op.drop_column("tickets", "pending_until")
    op.drop_column("tickets", "reopen_count")
    op.drop_column("tickets", "responsible_group_id")
    op.drop_column("tickets", "responsible_agent_id")
    op.drop_column("tickets", "company_id")
    op.drop_column("tickets", "type_id")
    op.drop_column("tickets", "priority_id")
    op.drop_column("tickets", "status_id")
    op.drop_constraint("fk_contacts_company_id", "contacts", type_="foreignkey")
    op.drop_column("contacts", "company_id")
    op.drop_index("ix_ticket_observer_groups_group_id", table_name="ticket_observer_groups")
    op.drop_table("ticket_observer_groups")
    op.drop_index("ix_ticket_observer_agents_agent_id", table_name="ticket_observer_agents")
    op.drop_table("ticket_observer_agents")
    op.drop_index("ix_ticket_audit_ticket_id", table_name="ticket_audit")
    op.drop_table("ticket_audit")
    op.drop_index("ix_company_domains_company_id", table_name="company_domains")
    op.drop_table("company_domains")
    op.drop_table("companies")
    op.drop_index("ix_agent_group_members_agent_id", table_name="agent_group_members")
    op.drop_table("agent_group_members")
    op.drop_table("ticket_types")
    op.drop_index(
        "uq_statuses_default_per_category",
        table_name="statuses",
        postgresql_where=sa.text("is_default"),
    )
    op.drop_table("statuses")
    op.drop_index(
        "uq_priorities_default", table_name="priorities", postgresql_where=sa.text("is_default")
    )
    op.drop_table("priorities")
    op.drop_table("company_categories")
    op.drop_table("agents")
    op.drop_table("agent_groups")
