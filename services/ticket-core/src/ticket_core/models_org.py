"""The organisation: company categories, companies and their mail domains, agents, groups."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel


class AgentRole(StrEnum):
    ADMINISTRATOR = "administrator"
    LEAD_SPECIALIST = "lead_specialist"
    SPECIALIST = "specialist"


def _created() -> Any:
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class CompanyCategory(SQLModel, table=True):
    """Client, Partner, VIP (seeded) and whatever an admin adds."""

    __tablename__ = "company_categories"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_company_categories"),
        UniqueConstraint("name", name="uq_company_categories_name"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))


class Agent(SQLModel, table=True):
    __tablename__ = "agents"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_agents"),
        UniqueConstraint("email", name="uq_agents_email"),  # stored lower-case
        CheckConstraint(
            "role IN ('administrator', 'lead_specialist', 'specialist')", name="ck_agents_role"
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    email: str = Field(sa_column=Column(Text, nullable=False))
    role: str = Field(
        default=AgentRole.SPECIALIST,
        sa_column=Column(Text, nullable=False, server_default=AgentRole.SPECIALIST.value),
    )
    active: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default="true")
    )
    created_at: datetime | None = _created()
    # --- agent auth (migration 0009) ---
    login: str | None = Field(default=None, sa_column=Column(Text, unique=True))  # lower-case
    password_hash: str | None = Field(default=None, sa_column=Column(Text))  # argon2id
    password_changed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    # --- phone extension (migration 0012) ---
    # The agent's PBX extension (digits): who a ringing call on it is pushed to, and what
    # click-to-call rings first. Unique where set (PostgreSQL allows many NULLs).
    phone_extension: str | None = Field(default=None, sa_column=Column(Text, unique=True))


class Company(SQLModel, table=True):
    __tablename__ = "companies"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_companies"),
        UniqueConstraint("name", name="uq_companies_name"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    category_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("company_categories.id", name="fk_companies_category_id"),
            nullable=False,
        )
    )
    manager_agent_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("agents.id", name="fk_companies_manager_agent_id")),
    )
    notification_email: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = _created()
    # --- routing (migration 0006) ---
    default_observer_agent_ids: list[int] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(BigInteger), nullable=False, server_default="{}"),
    )


class CompanyDomain(SQLModel, table=True):
    """A mail domain belongs to one company: senders at it are linked to that company."""

    __tablename__ = "company_domains"
    __table_args__ = (
        PrimaryKeyConstraint("domain", name="pk_company_domains"),
        Index("ix_company_domains_company_id", "company_id"),
    )

    domain: str = Field(sa_column=Column(Text, primary_key=True))
    company_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("companies.id", name="fk_company_domains_company_id", ondelete="CASCADE"),
            nullable=False,
        )
    )


class AgentGroup(SQLModel, table=True):
    __tablename__ = "agent_groups"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_agent_groups"),
        UniqueConstraint("name", name="uq_agent_groups_name"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = _created()


class AgentGroupMember(SQLModel, table=True):
    __tablename__ = "agent_group_members"
    __table_args__ = (
        PrimaryKeyConstraint("group_id", "agent_id", name="pk_agent_group_members"),
        Index("ix_agent_group_members_agent_id", "agent_id"),
    )

    group_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey(
                "agent_groups.id", name="fk_agent_group_members_group_id", ondelete="CASCADE"
            ),
            primary_key=True,
        )
    )
    agent_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("agents.id", name="fk_agent_group_members_agent_id", ondelete="CASCADE"),
            primary_key=True,
        )
    )


categories = CompanyCategory.__table__  # type: ignore[attr-defined]
agents = Agent.__table__  # type: ignore[attr-defined]
companies = Company.__table__  # type: ignore[attr-defined]
company_domains = CompanyDomain.__table__  # type: ignore[attr-defined]
groups = AgentGroup.__table__  # type: ignore[attr-defined]
group_members = AgentGroupMember.__table__  # type: ignore[attr-defined]
