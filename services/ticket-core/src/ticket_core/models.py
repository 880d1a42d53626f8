"""The ticket database (owned by ticket-core alone). Migrations: ``migrations/versions``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Sequence,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

TICKET_NUMBER_SEQ = Sequence("ticket_number_seq", start=1001)


def _ts(nullable: bool = False, default_now: bool = False) -> Any:
    return Field(
        default=None,
        sa_column=Column(
            DateTime(timezone=True),
            nullable=nullable,
            server_default=func.now() if default_now else None,
        ),
    )


class TicketStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class MessageKind(StrEnum):
    CUSTOMER = "customer"
    PUBLIC_REPLY = "public_reply"
    INTERNAL_NOTE = "internal_note"
    SYSTEM = "system"


class Contact(SQLModel, table=True):
    __tablename__ = "contacts"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    display_name: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    email: str | None = Field(default=None, sa_column=Column(Text))
    phone: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = _ts(default_now=True)


class ContactIdentity(SQLModel, table=True):
    """How a contact is known: ``email``/``phone`` values and channel user ids (``telegram``...)."""

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_contact_identity"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    contact_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("contacts.id"), nullable=False, index=True)
    )
    kind: str = Field(sa_column=Column(Text, nullable=False))
    value: str = Field(sa_column=Column(Text, nullable=False))


class Ticket(SQLModel, table=True):
    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_conversation", "conversation_key", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    number: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger,
            TICKET_NUMBER_SEQ,
            server_default=TICKET_NUMBER_SEQ.next_value(),
            nullable=False,
            unique=True,
        ),
    )
    subject: str = Field(sa_column=Column(Text, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    status: str = Field(default=TicketStatus.OPEN, sa_column=Column(Text, nullable=False))
    channel: str = Field(sa_column=Column(Text, nullable=False))
    channel_account: str = Field(sa_column=Column(Text, nullable=False))
    conversation_key: str | None = Field(default=None, sa_column=Column(Text))
    contact_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("contacts.id"), index=True)
    )
    follow_up_of_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("tickets.id"))
    )
    possible_duplicate_of_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("tickets.id"))
    )
    created_at: datetime | None = _ts(default_now=True)
    updated_at: datetime | None = _ts(default_now=True)
    last_customer_message_at: datetime | None = _ts(nullable=True)
    resolved_at: datetime | None = _ts(nullable=True)
    closed_at: datetime | None = _ts(nullable=True)


class Message(SQLModel, table=True):
    __tablename__ = "messages"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    ticket_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("tickets.id"), nullable=False, index=True)
    )
    kind: str = Field(sa_column=Column(Text, nullable=False))
    channel: str = Field(sa_column=Column(Text, nullable=False))
    author_contact_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("contacts.id"))
    )
    idempotency_key: str | None = Field(default=None, sa_column=Column(Text, unique=True))
    external_message_id: str | None = Field(default=None, sa_column=Column(Text, index=True))
    subject: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    html: str | None = Field(default=None, sa_column=Column(Text))
    full_text: str | None = Field(default=None, sa_column=Column(Text))
    attachments: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    fields: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    recipients: list[str] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    outbound_id: str | None = Field(default=None, sa_column=Column(Text, unique=True))
    delivery_state: str | None = Field(default=None, sa_column=Column(Text))
    delivery_reason: str | None = Field(default=None, sa_column=Column(Text))
    raw_sha256: str | None = Field(default=None, sa_column=Column(Text))
    auto_submitted: bool = False
    is_bounce: bool = False
    correlation_id: str | None = Field(default=None, sa_column=Column(Text))
    sent_at: datetime | None = _ts(nullable=True)
    received_at: datetime | None = _ts(nullable=True)
    created_at: datetime | None = _ts(default_now=True)


class OutboxEvent(SQLModel, table=True):
    """Records to publish, written in the same transaction as the change they announce."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    topic: str = Field(sa_column=Column(Text, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = _ts(default_now=True)


# Tables defined next to their code, imported here so the metadata (and Alembic) has them.
from .channel_accounts import ChannelAccountRow  # noqa: E402, F401
from .message_edits import MessageEdit  # noqa: E402, F401
