"""Triggers (automation rules), macros, and the records that make each firing happen once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

EVENT_CHECK = (
    "event IN ('ticket.created', 'customer.message', 'agent.reply', 'status.changed', "
    "'field.changed', 'sla.warning', 'sla.breached', 'time')"
)


def _now() -> Any:
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class TriggerRow(SQLModel, table=True):
    """An event + conditions (JSON, ``trigger_conditions.py``) -> actions (JSON,
    ``trigger_actions.py``). Enabled triggers run in ``position`` order. Time-based
    triggers (``event = 'time'``) fire ``time_after_hours`` after the ticket's
    ``time_anchor`` timestamp, once per value of that timestamp."""

    __tablename__ = "triggers"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_triggers"),
        UniqueConstraint("name", name="uq_triggers_name"),
        CheckConstraint(EVENT_CHECK, name="ck_triggers_event"),
        CheckConstraint(
            "(event = 'time') = (time_anchor IS NOT NULL AND time_after_hours IS NOT NULL)",
            name="ck_triggers_time",
        ),
        Index("ix_triggers_event_position", "event", "position"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    event: str = Field(sa_column=Column(Text, nullable=False))
    conditions: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSONB, nullable=False, server_default=text("'{\"all\": []}'::jsonb")),
    )
    actions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False)
    )
    position: int = Field(sa_column=Column(Integer, nullable=False))
    enabled: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default="true")
    )
    time_anchor: str | None = Field(default=None, sa_column=Column(Text))
    time_after_hours: float | None = Field(default=None, sa_column=Column(Float))
    created_at: datetime | None = _now()
    updated_at: datetime | None = _now()


class MacroRow(SQLModel, table=True):
    """A named set of actions an agent applies to a ticket in one click."""

    __tablename__ = "macros"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_macros"),
        UniqueConstraint("name", name="uq_macros_name"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    actions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False)
    )
    created_at: datetime | None = _now()
    updated_at: datetime | None = _now()


class TriggerFiring(SQLModel, table=True):
    """A trigger fired on a ticket event: at most once per (trigger, event), so a
    redelivered event fires nothing twice. ``error`` holds why its actions were refused."""

    __tablename__ = "trigger_firings"
    __table_args__ = (
        PrimaryKeyConstraint("trigger_id", "event_id", name="pk_trigger_firings"),
        Index("ix_trigger_firings_ticket_id", "ticket_id"),
    )

    trigger_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("triggers.id", name="fk_trigger_firings_trigger_id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    event_id: str = Field(sa_column=Column(Text, primary_key=True))
    ticket_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text))
    fired_at: datetime | None = _now()


class TriggerTimeCheck(SQLModel, table=True):
    """A time-based trigger looked at a ticket in one period (the anchor's value): fired,
    or did not match the ticket as it was at ``ticket_updated_at`` (looked at again only
    once the ticket changes)."""

    __tablename__ = "trigger_time_checks"
    __table_args__ = (
        PrimaryKeyConstraint("trigger_id", "ticket_id", "period", name="pk_trigger_time_checks"),
    )

    trigger_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("triggers.id", name="fk_trigger_time_checks_trigger_id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    ticket_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    period: datetime = Field(sa_column=Column(DateTime(timezone=True), primary_key=True))
    fired: bool = Field(sa_column=Column(Boolean, nullable=False))
    ticket_updated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    error: str | None = Field(default=None, sa_column=Column(Text))
    checked_at: datetime | None = _now()


triggers = TriggerRow.__table__  # type: ignore[attr-defined]
macros = MacroRow.__table__  # type: ignore[attr-defined]
firings = TriggerFiring.__table__  # type: ignore[attr-defined]
time_checks = TriggerTimeCheck.__table__  # type: ignore[attr-defined]
