"""SLA tables: service calendars and SLA rules; the timer indexes on ``tickets``.

A calendar's working hours and exception days are small JSONB documents (validated by
the API through ``ticket_core.sla``, loaded whole with the rules): ``working_hours`` maps
``monday`` .. ``sunday`` to ``"09:00-13:00, 14:00-18:00"`` (empty: closed);
``exception_days`` is a list of ``{"date", "kind", "hours"}`` with kind ``holiday``,
``shortened`` or ``working``. Rules are evaluated by ``position`` (then id), top-down.
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
    Integer,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from .models import Ticket


def _ids() -> Any:
    return Field(
        default_factory=list,
        sa_column=Column(ARRAY(BigInteger), nullable=False, server_default="{}"),
    )


class ServiceCalendarRow(SQLModel, table=True):
    __tablename__ = "service_calendars"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_service_calendars"),
        UniqueConstraint("name", name="uq_service_calendars_name"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    timezone: str = Field(sa_column=Column(Text, nullable=False))
    working_hours: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    exception_days: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class SlaRuleRow(SQLModel, table=True):
    __tablename__ = "sla_rules"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_sla_rules"),
        UniqueConstraint("name", name="uq_sla_rules_name"),
        CheckConstraint(
            "reaction_minutes > 0 AND resolution_minutes > 0 AND warning_minutes >= 0",
            name="ck_sla_rules_targets",
        ),
        Index("ix_sla_rules_position", "position", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    position: int = Field(sa_column=Column(Integer, nullable=False))
    enabled: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default="true")
    )
    calendar_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("service_calendars.id", name="fk_sla_rules_calendar_id"),
            nullable=False,
        )
    )
    ticket_type_ids: list[int] = _ids()
    priority_ids: list[int] = _ids()
    company_category_ids: list[int] = _ids()
    company_ids: list[int] = _ids()
    # [{"weekdays": [0..6], "start": "HH:MM", "end": "HH:MM", "timezone": str | null}]
    registered_within: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    reaction_minutes: int = Field(sa_column=Column(Integer, nullable=False))
    resolution_minutes: int = Field(sa_column=Column(Integer, nullable=False))
    warning_minutes: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


calendars = ServiceCalendarRow.__table__  # type: ignore[attr-defined]
sla_rules = SlaRuleRow.__table__  # type: ignore[attr-defined]
_tickets = Ticket.__table__  # type: ignore[attr-defined]

# The SLA timers (sla_timers.py) find due rows through these partial indexes; each
# predicate is the "still to fire" condition of one timer.
SLA_TIMER_INDEXES = (
    Index(
        "ix_tickets_sla_reaction_warn",
        _tickets.c.reaction_warn_at,
        postgresql_where=text("first_response_at IS NULL AND reaction_warned_at IS NULL"),
    ),
    Index(
        "ix_tickets_sla_reaction_due",
        _tickets.c.reaction_due_at,
        postgresql_where=text("first_response_at IS NULL AND reaction_breached_at IS NULL"),
    ),
    Index(
        "ix_tickets_sla_resolution_warn",
        _tickets.c.resolution_warn_at,
        postgresql_where=text("status = 'open' AND resolution_warned_at IS NULL"),
    ),
    Index(
        "ix_tickets_sla_resolution_due",
        _tickets.c.resolution_due_at,
        postgresql_where=text("status = 'open' AND resolution_breached_at IS NULL"),
    ),
)
