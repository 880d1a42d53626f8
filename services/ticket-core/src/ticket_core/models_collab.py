"""Collaboration tables: escalations between support lines and canned responses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    SmallInteger,
    Text,
    func,
    text,
)
from sqlmodel import Field, SQLModel


class TicketEscalation(SQLModel, table=True):
    """One pass of a ticket to the second line, and (once ``returned_at`` is set) its return.

    ``from_agent_id``/``from_group_id`` are who was responsible before, so a return gives the
    ticket back to them. At most one escalation per ticket is open (not returned)."""

    __tablename__ = "ticket_escalations"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_ticket_escalations"),
        CheckConstraint("line IN (1, 2)", name="ck_ticket_escalations_line"),
        Index("ix_ticket_escalations_ticket_id", "ticket_id", "id"),
        Index(
            "uq_ticket_escalations_open",
            "ticket_id",
            unique=True,
            postgresql_where=text("returned_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    ticket_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("tickets.id", name="fk_ticket_escalations_ticket_id"),
            nullable=False,
        )
    )
    line: int = Field(sa_column=Column(SmallInteger, nullable=False))
    to_group_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("agent_groups.id", name="fk_ticket_escalations_to_group_id"),
            nullable=False,
        )
    )
    from_agent_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, ForeignKey("agents.id", name="fk_ticket_escalations_from_agent_id")
        ),
    )
    from_group_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, ForeignKey("agent_groups.id", name="fk_ticket_escalations_from_group_id")
        ),
    )
    escalated_by: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("agents.id", name="fk_ticket_escalations_escalated_by"),
            nullable=False,
        )
    )
    returned_by: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, ForeignKey("agents.id", name="fk_ticket_escalations_returned_by")
        ),
    )
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    returned_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class CannedResponse(SQLModel, table=True):
    """A reply template for a group of agents (``group_id`` null: for everyone)."""

    __tablename__ = "canned_responses"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_canned_responses"),
        Index("ix_canned_responses_group_id", "group_id", "title"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    group_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger,
            ForeignKey("agent_groups.id", name="fk_canned_responses_group_id", ondelete="CASCADE"),
        ),
    )
    category: str | None = Field(default=None, sa_column=Column(Text))
    title: str = Field(sa_column=Column(Text, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


escalations = TicketEscalation.__table__  # type: ignore[attr-defined]
canned_responses = CannedResponse.__table__  # type: ignore[attr-defined]
