"""Ticket links and the contacts' audit (migration 0013).

``ticket_links`` holds the links agents make (``related``, ``parent``, ``duplicate_of``);
the links ingestion makes stay where they always were, ``tickets.follow_up_of_id`` and
``tickets.possible_duplicate_of_id`` (one each per ticket, written in the ingestion batch),
and are shown next to them by ``ticket_links_repo`` (read-only). Indexes on those two
columns make "which tickets follow up / may duplicate this one" cheap.

One row per link, stored one way (``ticket_links_rules.stored``):

- ``related``: symmetric, stored with ``ticket_id < linked_ticket_id``;
- ``parent``: ``linked_ticket_id`` is the parent of ``ticket_id`` (a ticket may have
  several parents; no cycles);
- ``duplicate_of``: ``ticket_id`` duplicates ``linked_ticket_id`` (at most one per ticket).

``contact_audit`` keeps what a contact merge or deletion did, with a snapshot of the
contact that is gone (no foreign key: the contact no longer exists).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

LINK_KINDS_CHECK = "kind IN ('related', 'parent', 'duplicate_of')"


class TicketLinkRow(SQLModel, table=True):
    __tablename__ = "ticket_links"
    __table_args__ = (
        UniqueConstraint("ticket_id", "linked_ticket_id", "kind", name="uq_ticket_links"),
        CheckConstraint(LINK_KINDS_CHECK, name="ck_ticket_links_kind"),
        CheckConstraint("ticket_id <> linked_ticket_id", name="ck_ticket_links_not_self"),
        CheckConstraint(
            "kind <> 'related' OR ticket_id < linked_ticket_id", name="ck_ticket_links_related"
        ),
        Index("ix_ticket_links_linked", "linked_ticket_id"),
        # a ticket duplicates one ticket at most
        Index(
            "uq_ticket_links_duplicate_of",
            "ticket_id",
            unique=True,
            postgresql_where=text("kind = 'duplicate_of'"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    ticket_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("tickets.id", name="fk_ticket_links_ticket_id"), nullable=False
        )
    )
    linked_ticket_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("tickets.id", name="fk_ticket_links_linked_ticket_id"),
            nullable=False,
        )
    )
    kind: str = Field(sa_column=Column(Text, nullable=False))
    created_by_agent_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, ForeignKey("agents.id", name="fk_ticket_links_created_by_agent_id")
        ),
    )
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class ContactAuditRow(SQLModel, table=True):
    __tablename__ = "contact_audit"
    __table_args__ = (
        CheckConstraint("action IN ('merged', 'deleted')", name="ck_contact_audit_action"),
        Index("ix_contact_audit_contact_id", "contact_id"),
        Index(
            "ix_contact_audit_target",
            "target_contact_id",
            postgresql_where=text("target_contact_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    contact_id: int = Field(sa_column=Column(BigInteger, nullable=False))  # the one gone
    action: str = Field(sa_column=Column(Text, nullable=False))
    target_contact_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger,
            ForeignKey("contacts.id", name="fk_contact_audit_target", ondelete="SET NULL"),
        ),
    )
    agent_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("agents.id", name="fk_contact_audit_agent_id")),
    )
    snapshot: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


ticket_links = TicketLinkRow.__table__  # type: ignore[attr-defined]
contact_audit = ContactAuditRow.__table__  # type: ignore[attr-defined]

# Imported last: ``models`` imports this module at its end (either may be imported first).
from .models import Ticket  # noqa: E402

_tickets = Ticket.__table__  # type: ignore[attr-defined]

# The links ingestion makes, looked up from the other side.
Index(
    "ix_tickets_follow_up_of_id",
    _tickets.c.follow_up_of_id,
    postgresql_where=_tickets.c.follow_up_of_id.is_not(None),
)
Index(
    "ix_tickets_possible_duplicate_of_id",
    _tickets.c.possible_duplicate_of_id,
    postgresql_where=_tickets.c.possible_duplicate_of_id.is_not(None),
)
