"""The ticket database (owned by ticket-core alone). Migrations: ``migrations/versions``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Sequence,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
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
    """The four status categories; ``tickets.status`` holds the category, ``status_id`` the
    custom status (one of the ``statuses`` rows mapped onto it)."""

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
    __table_args__ = (
        # routing (migration 0006): "does any contact carry routing defaults?" stays cheap.
        Index(
            "ix_contacts_routing_card",
            "id",
            postgresql_where=text(
                "manager_agent_id IS NOT NULL OR default_observer_agent_ids <> '{}'::bigint[]"
            ),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    display_name: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    email: str | None = Field(default=None, sa_column=Column(Text))
    phone: str | None = Field(default=None, sa_column=Column(Text))
    company_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("companies.id", name="fk_contacts_company_id")),
    )
    created_at: datetime | None = _ts(default_now=True)
    # --- routing (migration 0006) ---
    manager_agent_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("agents.id", name="fk_contacts_manager_agent_id")),
    )
    default_observer_agent_ids: list[int] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(BigInteger), nullable=False, server_default="{}"),
    )


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
    __table_args__ = (
        Index("ix_tickets_conversation", "conversation_key", "id"),
        Index("ix_tickets_status_id", "status_id"),
        # Partial: most tickets arrive without them, and ingestion inserts many tickets.
        Index(
            "ix_tickets_company_id",
            "company_id",
            postgresql_where=text("company_id IS NOT NULL"),
        ),
        Index(
            "ix_tickets_responsible_agent_id",
            "responsible_agent_id",
            "status",
            postgresql_where=text("responsible_agent_id IS NOT NULL"),
        ),
        Index(
            "ix_tickets_responsible_group_id",
            "responsible_group_id",
            postgresql_where=text("responsible_group_id IS NOT NULL"),
        ),
        # The timers: due rows are found through these (see timers.py).
        Index(
            "ix_tickets_pending_due",
            "pending_until",
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_tickets_service_object_id",
            "service_object_id",
            postgresql_where=text("service_object_id IS NOT NULL"),
        ),
        Index(
            "ix_tickets_auto_close_due",
            "auto_close_at",
            postgresql_where=text("status = 'resolved'"),
        ),
    )

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
    # --- workflow (migration 0004) ---
    status_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("statuses.id", name="fk_tickets_status_id"), nullable=False
        )
    )
    priority_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("priorities.id", name="fk_tickets_priority_id"), nullable=False
        )
    )
    type_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("ticket_types.id", name="fk_tickets_type_id")),
    )
    company_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("companies.id", name="fk_tickets_company_id")),
    )
    responsible_agent_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, ForeignKey("agents.id", name="fk_tickets_responsible_agent_id")
        ),
    )
    responsible_group_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, ForeignKey("agent_groups.id", name="fk_tickets_responsible_group_id")
        ),
    )
    reopen_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    pending_until: datetime | None = _ts(nullable=True)
    auto_close_at: datetime | None = _ts(nullable=True)
    first_response_at: datetime | None = _ts(nullable=True)
    # Resolution clock: seconds spent Open before the current span, and when that span began
    # (null while Pending, Resolved or Closed).
    worked_seconds: float = Field(
        default=0.0, sa_column=Column(Float, nullable=False, server_default="0")
    )
    open_since: datetime | None = _ts(nullable=True)
    # --- triggers (migration 0007) ---
    tags: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"),
    )
    # --- sla (migration 0005) ---
    # Planned times come from the first matching SLA rule at registration (or by hand);
    # *_warn_at = due - the rule's warning lead; *_warned_at / *_breached_at mark fired
    # timers. Pending pauses the resolution clock from sla_paused_at (see sla_tickets.py).
    sla_rule_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger,
            ForeignKey("sla_rules.id", name="fk_tickets_sla_rule_id", ondelete="SET NULL"),
        ),
    )
    sla_warning_seconds: int | None = Field(default=None, sa_column=Column(Integer))
    reaction_due_at: datetime | None = _ts(nullable=True)
    reaction_warn_at: datetime | None = _ts(nullable=True)
    reaction_warned_at: datetime | None = _ts(nullable=True)
    reaction_breached_at: datetime | None = _ts(nullable=True)
    resolution_due_at: datetime | None = _ts(nullable=True)
    resolution_warn_at: datetime | None = _ts(nullable=True)
    resolution_warned_at: datetime | None = _ts(nullable=True)
    resolution_breached_at: datetime | None = _ts(nullable=True)
    sla_paused_at: datetime | None = _ts(nullable=True)
    sla_paused_seconds: float = Field(
        default=0.0, sa_column=Column(Float, nullable=False, server_default="0")
    )
    # --- routing (migration 0006) ---
    service_object_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, ForeignKey("service_objects.id", name="fk_tickets_service_object_id")
        ),
    )
    custom_attributes: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    # --- collaboration: customer satisfaction (migration 0008) ---
    rating: str | None = Field(default=None, sa_column=Column(Text))  # good | neutral | bad
    rating_comment: str | None = Field(default=None, sa_column=Column(Text))
    rated_at: datetime | None = _ts(nullable=True)
    # --- sla re-planning (migration 0014) ---
    # True once an agent set (or cleared) that planned time by hand: re-planning keeps it.
    reaction_due_manual: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    resolution_due_manual: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )


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
    # --- agent auth (migration 0009) ---
    author_agent_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, ForeignKey("agents.id", name="fk_messages_author_agent_id"), index=True
        ),
    )


class OutboxEvent(SQLModel, table=True):
    """Records to publish, written in the same transaction as the change they announce."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    topic: str = Field(sa_column=Column(Text, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = _ts(default_now=True)


# Tables defined next to their code, imported here so the metadata (and Alembic) has them.
from . import models_sla  # noqa: E402, F401
from .channel_accounts import ChannelAccountRow  # noqa: E402, F401
from .message_edits import MessageEdit  # noqa: E402, F401
from .models_collab import CannedResponse, TicketEscalation  # noqa: E402, F401
from .models_desk import ConfigVersionRow, DeskSettingRow, PortalAccountRow  # noqa: E402, F401
from .models_links import ContactAuditRow, TicketLinkRow  # noqa: E402, F401
from .models_notifications import NotificationTypeRow  # noqa: E402, F401
from .models_org import Agent, AgentGroup, Company  # noqa: E402, F401
from .models_routing import RoutingRule, ServiceObject  # noqa: E402, F401
from .models_triggers import MacroRow, TriggerRow  # noqa: E402, F401
from .models_workflow import Priority, StatusRow, TicketAudit, TicketType  # noqa: E402, F401
