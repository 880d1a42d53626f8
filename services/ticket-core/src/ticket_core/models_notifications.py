"""Notification configuration (admin-owned, migration 0010).

- ``notification_types``: one row per type an admin changed (the defaults live in code,
  ``helpdesk_common.notification_templates.DEFAULT_TYPES``; deleting a row resets it).
- ``notification_settings``: one row (id 1) of email/SMS options, absent until changed.
- ``agent_notification_profiles``: an agent's mobile number and email/SMS opt-outs.
- ``group_notify_members``: the members of a group who are notified about its tickets.
"""

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
    PrimaryKeyConstraint,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

COMPANY_COPY = ("never", "always", "no_contact_email", "no_contact")


def _updated() -> Any:
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class NotificationTypeRow(SQLModel, table=True):
    __tablename__ = "notification_types"
    __table_args__ = (PrimaryKeyConstraint("key", name="pk_notification_types"),)

    key: str = Field(sa_column=Column(Text, primary_key=True))
    enabled: bool = Field(sa_column=Column(Boolean, nullable=False))
    email_on: bool = Field(sa_column=Column(Boolean, nullable=False))
    sms_on: bool = Field(sa_column=Column(Boolean, nullable=False))
    subject: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    sms: str = Field(sa_column=Column(Text, nullable=False))
    status_ids: list[int] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    updated_at: datetime | None = _updated()


class NotificationSettingsRow(SQLModel, table=True):
    __tablename__ = "notification_settings"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_notification_settings"),
        CheckConstraint("id = 1", name="ck_notification_settings_single"),
        CheckConstraint(
            "company_copy IN ('never', 'always', 'no_contact_email', 'no_contact')",
            name="ck_notification_settings_company_copy",
        ),
    )

    id: int = Field(default=1, sa_column=Column(BigInteger, primary_key=True))
    sender_name: str = Field(sa_column=Column(Text, nullable=False))
    reply_to: str | None = Field(default=None, sa_column=Column(Text))
    layout: str = Field(sa_column=Column(Text, nullable=False))
    fallback_to_company_email: bool = Field(sa_column=Column(Boolean, nullable=False))
    company_copy: str = Field(sa_column=Column(Text, nullable=False))
    copy_to_author: bool = Field(sa_column=Column(Boolean, nullable=False))
    sms_account: str | None = Field(default=None, sa_column=Column(Text))
    updated_at: datetime | None = _updated()


class AgentNotificationProfile(SQLModel, table=True):
    __tablename__ = "agent_notification_profiles"
    __table_args__ = (PrimaryKeyConstraint("agent_id", name="pk_agent_notification_profiles"),)

    agent_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey(
                "agents.id", name="fk_agent_notification_profiles_agent_id", ondelete="CASCADE"
            ),
            primary_key=True,
        )
    )
    mobile_phone: str | None = Field(default=None, sa_column=Column(Text))
    email_on: bool = Field(sa_column=Column(Boolean, nullable=False, server_default="true"))
    sms_on: bool = Field(sa_column=Column(Boolean, nullable=False, server_default="true"))


class GroupNotifyMember(SQLModel, table=True):
    __tablename__ = "group_notify_members"
    __table_args__ = (
        PrimaryKeyConstraint("group_id", "agent_id", name="pk_group_notify_members"),
        Index("ix_group_notify_members_agent_id", "agent_id"),
    )

    group_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey(
                "agent_groups.id", name="fk_group_notify_members_group_id", ondelete="CASCADE"
            ),
            primary_key=True,
        )
    )
    agent_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("agents.id", name="fk_group_notify_members_agent_id", ondelete="CASCADE"),
            primary_key=True,
        )
    )


notification_types = NotificationTypeRow.__table__  # type: ignore[attr-defined]
notification_settings = NotificationSettingsRow.__table__  # type: ignore[attr-defined]
agent_profiles = AgentNotificationProfile.__table__  # type: ignore[attr-defined]
group_notify_members = GroupNotifyMember.__table__  # type: ignore[attr-defined]
