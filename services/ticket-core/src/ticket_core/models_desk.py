"""Desk tables (migration 0011): desk-wide settings (branding, timezone, portal options)
and the customer portal's logins of contacts."""

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
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class ConfigVersionRow(SQLModel, table=True):
    """The desk configuration's version: one row, set from ``config_version_seq`` by
    triggers on the configuration tables (migration 0017, ``ingest_config.py``)."""

    __tablename__ = "config_version"
    __table_args__ = (CheckConstraint("id = 1", name="ck_config_version_one_row"),)

    id: int = Field(sa_column=Column(Integer, primary_key=True))
    version: int = Field(sa_column=Column(BigInteger, nullable=False))


class DeskSettingRow(SQLModel, table=True):
    """One JSON document per settings section (``branding``, ``desk``, ``portal``)."""

    __tablename__ = "desk_settings"
    __table_args__ = (PrimaryKeyConstraint("key", name="pk_desk_settings"),)

    key: str = Field(sa_column=Column(Text, primary_key=True))
    value: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class PortalAccountRow(SQLModel, table=True):
    """A contact's portal login: ``login`` is the contact's email (lower case), the
    password an argon2id hash set by an agent; ``access`` own | company."""

    __tablename__ = "portal_accounts"
    __table_args__ = (
        PrimaryKeyConstraint("contact_id", name="pk_portal_accounts"),
        CheckConstraint("access IN ('own', 'company')", name="ck_portal_accounts_access"),
        Index("uq_portal_accounts_login", "login", unique=True),
    )

    contact_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("contacts.id", name="fk_portal_accounts_contact_id"),
            primary_key=True,
        )
    )
    login: str = Field(sa_column=Column(Text, nullable=False))
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    access: str = Field(default="own", sa_column=Column(Text, nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    password_changed_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


desk_settings = DeskSettingRow.__table__  # type: ignore[attr-defined]
portal_accounts = PortalAccountRow.__table__  # type: ignore[attr-defined]
