"""Routing tables (migration 0006): service objects, custom ticket attribute definitions,
the routing table, round-robin state per group, and the global routing settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

ALL_ROLES = "'{administrator,lead_specialist,specialist}'"


def _created() -> Any:
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def agent_ids_column() -> Any:
    """A list of agent ids (observers): bigint[], never null."""
    return Field(
        default_factory=list,
        sa_column=Column(ARRAY(BigInteger), nullable=False, server_default="{}"),
    )


class ServiceObject(SQLModel, table=True):
    """A place the service is for: a café, a shop, a site of a company."""

    __tablename__ = "service_objects"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_service_objects"),
        UniqueConstraint("company_id", "name", name="uq_service_objects_company_name"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    address: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    company_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, ForeignKey("companies.id", name="fk_service_objects_company_id")
        ),
    )
    manager_agent_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, ForeignKey("agents.id", name="fk_service_objects_manager_agent_id")
        ),
    )
    created_at: datetime | None = _created()


class AttributeDefinition(SQLModel, table=True):
    """A custom ticket attribute: its key in ``tickets.custom_attributes``, kind and who sees it."""

    __tablename__ = "custom_attribute_definitions"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_custom_attribute_definitions"),
        UniqueConstraint("key", name="uq_custom_attribute_definitions_key"),
        CheckConstraint(
            "kind IN ('string', 'number', 'date', 'list')",
            name="ck_custom_attribute_definitions_kind",
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    key: str = Field(sa_column=Column(Text, nullable=False))
    label: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    options: list[str] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    required_on_create: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    visible_to_roles: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Text), nullable=False, server_default=ALL_ROLES),
    )
    visible_to_contact: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class RoutingRule(SQLModel, table=True):
    """One row of the ordered routing table: conditions (JSONB) -> assignment."""

    __tablename__ = "routing_rules"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_routing_rules"),
        UniqueConstraint("name", name="uq_routing_rules_name"),
        Index("ix_routing_rules_position", "position", "id"),
        CheckConstraint(
            "distribution IN ('none', 'round_robin', 'least_loaded')",
            name="ck_routing_rules_distribution",
        ),
        CheckConstraint(
            "distribution = 'none' OR group_id IS NOT NULL",
            name="ck_routing_rules_distribution_group",
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    position: int = Field(sa_column=Column(Integer, nullable=False))
    enabled: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default="true")
    )
    name: str = Field(sa_column=Column(Text, nullable=False))
    conditions: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    agent_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("agents.id", name="fk_routing_rules_agent_id")),
    )
    group_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, ForeignKey("agent_groups.id", name="fk_routing_rules_group_id")
        ),
    )
    distribution: str = Field(
        default="none", sa_column=Column(Text, nullable=False, server_default="none")
    )
    observer_agent_ids: list[int] = agent_ids_column()
    observer_group_ids: list[int] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(BigInteger), nullable=False, server_default="{}"),
    )
    created_at: datetime | None = _created()


class RoundRobinState(SQLModel, table=True):
    """The last agent a group handed a ticket to; locked FOR UPDATE by the routing writer."""

    __tablename__ = "routing_round_robin"
    __table_args__ = (PrimaryKeyConstraint("group_id", name="pk_routing_round_robin"),)

    group_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey(
                "agent_groups.id", name="fk_routing_round_robin_group_id", ondelete="CASCADE"
            ),
            primary_key=True,
        )
    )
    last_agent_id: int | None = Field(default=None, sa_column=Column(BigInteger))


class RoutingSettings(SQLModel, table=True):
    """One row (id 1): routing settings shared by every replica."""

    __tablename__ = "routing_settings"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_routing_settings"),
        CheckConstraint("id = 1", name="ck_routing_settings_single_row"),
    )

    id: int = Field(default=1, sa_column=Column(Integer, primary_key=True, autoincrement=False))
    default_observer_agent_ids: list[int] = agent_ids_column()


service_objects = ServiceObject.__table__  # type: ignore[attr-defined]
attribute_definitions = AttributeDefinition.__table__  # type: ignore[attr-defined]
routing_rules = RoutingRule.__table__  # type: ignore[attr-defined]
round_robin = RoundRobinState.__table__  # type: ignore[attr-defined]
routing_settings = RoutingSettings.__table__  # type: ignore[attr-defined]
