"""Workflow catalogue (ticket types, priorities, custom statuses), observers, audit trail."""

from __future__ import annotations

from datetime import datetime

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
    text,
)
from sqlmodel import Field, SQLModel

CATEGORY_CHECK = "category IN ('open', 'pending', 'resolved', 'closed')"


class TicketType(SQLModel, table=True):
    """Seeded: incident, question, internal. Tickets of an internal type never reach contacts."""

    __tablename__ = "ticket_types"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_ticket_types"),
        UniqueConstraint("name", name="uq_ticket_types_name"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    internal: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    # --- catalogue active flag (migration 0015): inactive rows are not offered for new choices ---
    active: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default="true")
    )


class Priority(SQLModel, table=True):
    """Ordered by ``position`` (higher is more urgent); exactly one is the default."""

    __tablename__ = "priorities"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_priorities"),
        UniqueConstraint("name", name="uq_priorities_name"),
        CheckConstraint("colour ~ '^#[0-9a-fA-F]{6}$'", name="ck_priorities_colour"),
        Index(
            "uq_priorities_default",
            "is_default",
            unique=True,
            postgresql_where=text("is_default"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    position: int = Field(sa_column=Column(Integer, nullable=False))
    colour: str = Field(sa_column=Column(Text, nullable=False))
    is_default: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    # --- catalogue active flag (migration 0015): inactive rows are not offered for new choices ---
    active: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default="true")
    )


class StatusRow(SQLModel, table=True):
    """A custom status, mapped onto one of the four categories; one default per category."""

    __tablename__ = "statuses"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_statuses"),
        UniqueConstraint("name", name="uq_statuses_name"),
        CheckConstraint(CATEGORY_CHECK, name="ck_statuses_category"),
        Index(
            "uq_statuses_default_per_category",
            "category",
            unique=True,
            postgresql_where=text("is_default"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    category: str = Field(sa_column=Column(Text, nullable=False))
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    is_default: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    # --- routing (migration 0006): tickets in this status count toward an agent's load ---
    counts_toward_load: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default="true")
    )
    # --- catalogue active flag (migration 0015): inactive rows are not offered for new choices ---
    active: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default="true")
    )


class TicketObserverAgent(SQLModel, table=True):
    __tablename__ = "ticket_observer_agents"
    __table_args__ = (
        PrimaryKeyConstraint("ticket_id", "agent_id", name="pk_ticket_observer_agents"),
        Index("ix_ticket_observer_agents_agent_id", "agent_id"),
    )

    ticket_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("tickets.id", name="fk_ticket_observer_agents_ticket_id"),
            primary_key=True,
        )
    )
    agent_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("agents.id", name="fk_ticket_observer_agents_agent_id"),
            primary_key=True,
        )
    )


class TicketObserverGroup(SQLModel, table=True):
    __tablename__ = "ticket_observer_groups"
    __table_args__ = (
        PrimaryKeyConstraint("ticket_id", "group_id", name="pk_ticket_observer_groups"),
        Index("ix_ticket_observer_groups_group_id", "group_id"),
    )

    ticket_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("tickets.id", name="fk_ticket_observer_groups_ticket_id"),
            primary_key=True,
        )
    )
    group_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("agent_groups.id", name="fk_ticket_observer_groups_group_id"),
            primary_key=True,
        )
    )


class TicketAudit(SQLModel, table=True):
    """One changed field of a ticket: who (an agent, the system, the customer), old, new, when."""

    __tablename__ = "ticket_audit"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_ticket_audit"),
        Index("ix_ticket_audit_ticket_id", "ticket_id", "id"),
        CheckConstraint("actor IN ('agent', 'system', 'customer')", name="ck_ticket_audit_actor"),
        CheckConstraint(
            "(actor = 'agent') = (agent_id IS NOT NULL)", name="ck_ticket_audit_agent_id"
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    ticket_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("tickets.id", name="fk_ticket_audit_ticket_id"), nullable=False
        )
    )
    actor: str = Field(sa_column=Column(Text, nullable=False))
    agent_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("agents.id", name="fk_ticket_audit_agent_id")),
    )
    field: str = Field(sa_column=Column(Text, nullable=False))
    old_value: str | None = Field(default=None, sa_column=Column(Text))
    new_value: str | None = Field(default=None, sa_column=Column(Text))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


ticket_types = TicketType.__table__  # type: ignore[attr-defined]
priorities = Priority.__table__  # type: ignore[attr-defined]
statuses = StatusRow.__table__  # type: ignore[attr-defined]
observer_agents = TicketObserverAgent.__table__  # type: ignore[attr-defined]
observer_groups = TicketObserverGroup.__table__  # type: ignore[attr-defined]
audit = TicketAudit.__table__  # type: ignore[attr-defined]
