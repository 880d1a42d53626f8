"""routing: service objects, custom attributes, routing table

Service objects (tickets link to them), custom ticket attribute definitions (values in
``tickets.custom_attributes``), the ordered routing table, round-robin state per group,
the single-row routing settings (global default observers, seeded empty); contacts get a
responsible manager, contacts and companies default observers, statuses a
``counts_toward_load`` flag.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 19:43:55.991484
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "custom_attribute_definitions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column(
            "options", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("required_on_create", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "visible_to_roles",
            postgresql.ARRAY(sa.Text()),
            server_default="{administrator,lead_specialist,specialist}",
            nullable=False,
        ),
        sa.Column("visible_to_contact", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint(
            "kind IN ('string', 'number', 'date', 'list')",
            name="ck_custom_attribute_definitions_kind",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_custom_attribute_definitions"),
        sa.UniqueConstraint("key", name="uq_custom_attribute_definitions_key"),
    )
    op.create_table(
        "routing_settings",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "default_observer_agent_ids",
            postgresql.ARRAY(sa.BigInteger()),
            server_default="{}",
            nullable=False,
        ),
        sa.CheckConstraint("id = 1", name="ck_routing_settings_single_row"),
        sa.PrimaryKeyConstraint("id", name="pk_routing_settings"),
    )
    op.create_table(
        "routing_round_robin",
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("last_agent_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["agent_groups.id"],
            name="fk_routing_round_robin_group_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", name="pk_routing_round_robin"),
    )
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "conditions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("agent_id", sa.BigInteger(), nullable=True),
        sa.Column("group_id", sa.BigInteger(), nullable=True),
        sa.Column("distribution", sa.Text(), server_default="none", nullable=False),
        sa.Column(
            "observer_agent_ids",
            postgresql.ARRAY(sa.BigInteger()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "observer_group_ids",
            postgresql.ARRAY(sa.BigInteger()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "distribution = 'none' OR group_id IS NOT NULL",
            name="ck_routing_rules_distribution_group",
        ),
        sa.CheckConstraint(
            "distribution IN ('none', 'round_robin', 'least_loaded')",
            name="ck_routing_rules_distribution",
        ),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name="fk_routing_rules_agent_id"),
        sa.ForeignKeyConstraint(
            ["group_id"], ["agent_groups.id"], name="fk_routing_rules_group_id"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_routing_rules"),
        sa.UniqueConstraint("name", name="uq_routing_rules_name"),
    )
    op.create_index("ix_routing_rules_position", "routing_rules", ["position", "id"], unique=False)
    op.create_table(
        "service_objects",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), server_default="", nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=True),
        sa.Column("manager_agent_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name="fk_service_objects_company_id"
        ),
        sa.ForeignKeyConstraint(
            ["manager_agent_id"], ["agents.id"], name="fk_service_objects_manager_agent_id"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_service_objects"),
        sa.UniqueConstraint("company_id", "name", name="uq_service_objects_company_name"),
    )
    op.add_column(
        "companies",
        sa.Column(
            "default_observer_agent_ids",
            postgresql.ARRAY(sa.BigInteger()),
            server_default="{}",
            nullable=False,
        ),
    )
    op.add_column("contacts", sa.Column("manager_agent_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "contacts",
        sa.Column(
            "default_observer_agent_ids",
            postgresql.ARRAY(sa.BigInteger()),
            server_default="{}",
            nullable=False,
        ),
    )
    op.create_foreign_key(
        "fk_contacts_manager_agent_id", "contacts", "agents", ["manager_agent_id"], ["id"]
    )
    op.add_column(
        "statuses",
        sa.Column("counts_toward_load", sa.Boolean(), server_default="true", nullable=False),
    )
    op.add_column("tickets", sa.Column("service_object_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "tickets",
        sa.Column(
            "custom_attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
    )
    op.create_index(
        "ix_tickets_service_object_id",
        "tickets",
        ["service_object_id"],
        unique=False,
        postgresql_where=sa.text("service_object_id IS NOT NULL"),
    )
    op.create_foreign_key(
        "fk_tickets_service_object_id", "tickets", "service_objects", ["service_object_id"], ["id"]
    )
    op.create_index(
        "ix_contacts_routing_card",
        "contacts",
        ["id"],
        unique=False,
        postgresql_where=sa.text(
            "manager_agent_id IS NOT NULL OR default_observer_agent_ids <> '{}'::bigint[]"
        ),
    )
    op.execute("INSERT INTO routing_settings (id) VALUES (1)")


def downgrade() -> None:
    op.drop_index("ix_contacts_routing_card", table_name="contacts")
    op.drop_constraint("fk_tickets_service_object_id", "tickets", type_="foreignkey")
    op.drop_index(
        "ix_tickets_service_object_id",
        table_name="tickets",
        postgresql_where=sa.text("service_object_id IS NOT NULL"),
    )
    op.drop_column("tickets", "custom_attributes")
    op.drop_column("tickets", "service_object_id")
    op.drop_column("statuses", "counts_toward_load")
    op.drop_constraint("fk_contacts_manager_agent_id", "contacts", type_="foreignkey")
    op.drop_column("contacts", "default_observer_agent_ids")
    op.drop_column("contacts", "manager_agent_id")
    op.drop_column("companies", "default_observer_agent_ids")
    op.drop_table("service_objects")
    op.drop_index("ix_routing_rules_position", table_name="routing_rules")
    op.drop_table("routing_rules")
    op.drop_table("routing_round_robin")
    op.drop_table("routing_settings")
    op.drop_table("custom_attribute_definitions")
