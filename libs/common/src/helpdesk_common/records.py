"""Every record that travels on the broker, defined once.

Each record carries ``schema_version``; a consumer refuses a version it does not know
(the record is parked in the dead-letter topic with that reason, never guessed at).
Bodies are JSON (``model_dump_json``); large payloads travel as blob references.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

ModelT = TypeVar("ModelT", bound=BaseModel)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def without_nul(value: Any) -> Any:
    """``value`` with NUL characters removed from every string in it (PostgreSQL text and
    JSONB refuse them, and no channel means anything by them)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(without_nul(v) for v in value)
    return value


# Validation context of JSON known to hold no NUL character (``decode_json``): the walk
# that drops them is skipped (it was most of the cost of decoding an inbound message).
_NUL_FREE = {"nul_free": True}


class NoNulModel(BaseModel):
    """Customer-supplied text: NUL characters are dropped on the way in."""

    @model_validator(mode="before")
    @classmethod
    def _drop_nul(cls, data: Any, info: ValidationInfo) -> Any:
        if info.context is _NUL_FREE:
            return data
        return without_nul(data)


def decode_json(record_type: type[ModelT], raw: bytes | str) -> ModelT:
    """``record_type.model_validate_json(raw)``, without looking for NUL characters in every
    string when the JSON cannot hold one: JSON writes NUL as the escape ``\\u0000`` (a raw
    NUL byte is refused by the parser anyway), so JSON without that text has none."""
    data = raw.encode() if isinstance(raw, str) else raw
    nul_free = b"\\u0000" not in data and b"\x00" not in data
    return record_type.model_validate_json(data, context=_NUL_FREE if nul_free else None)


class Channel(StrEnum):
    EMAIL = "email"
    TELEGRAM = "telegram"
    VIBER = "viber"
    VK = "vk"
    SMS = "sms"
    PHONE = "phone"
    WEBFORM = "webform"


class Record(BaseModel):
    """Base of every broker record: versioned, immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    schema_name: ClassVar[str]

    schema_version: Literal[1] = 1
    correlation_id: str = Field(default_factory=new_id, max_length=128)


class BlobRef(BaseModel):
    """A pointer into the content-addressed blob store."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: Sha256
    size: int = Field(ge=0)
    content_type: str = "application/octet-stream"


class AttachmentRef(NoNulModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    filename: str = Field(default="", max_length=1024)
    content_type: str = "application/octet-stream"
    size: int = Field(ge=0)
    blob: BlobRef | None = None
    inline_cid: str | None = None
    skipped_reason: str | None = Field(
        default=None, description="Set when the file was not stored (e.g. over the size limit)."
    )


class SenderIdentity(NoNulModel):
    """Who wrote, as the channel knows them. ``channel_user_id`` is the stable channel id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel_user_id: NonEmpty
    display_name: str = Field(default="", max_length=512)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    username: str | None = Field(default=None, max_length=256)


class ThreadHints(NoNulModel):
    """What the channel tells us about which conversation a message belongs to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    conversation_id: str | None = Field(
        default=None, max_length=512, description="Chat / peer / phone / address on the channel."
    )
    message_id: str | None = Field(default=None, max_length=998)
    in_reply_to: str | None = Field(default=None, max_length=998)
    references: tuple[str, ...] = ()
    ticket_number: int | None = Field(
        default=None, description="Ticket number found in the subject token, e.g. [#12345]."
    )


class BounceInfo(NoNulModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    original_message_id: str | None = None
    recipient: str | None = None
    status: str | None = None


class InboundMessage(Record, NoNulModel):
    """A customer message from any channel, normalised. Key: ``<channel>:<sender id>``."""

    schema_name: ClassVar[str] = "inbound_message"

    idempotency_key: NonEmpty
    channel: Channel
    channel_account: NonEmpty
    sender: SenderIdentity
    thread: ThreadHints = ThreadHints()
    recipients: tuple[str, ...] = Field(
        default=(), description="Other addresses on the message (email To/Cc), lower case."
    )
    subject: str = Field(default="", max_length=998)
    text: str = ""
    html: str | None = None
    full_text: str | None = Field(
        default=None, description="Text before quoted history was cut, when it was cut."
    )
    attachments: tuple[AttachmentRef, ...] = ()
    raw: BlobRef | None = None
    auto_submitted: bool = False
    is_bounce: bool = False
    bounce: BounceInfo | None = None
    fields: dict[str, str] = Field(default_factory=dict, description="Extra form fields.")
    edit_of: str | None = Field(
        default=None,
        max_length=998,
        description="thread.message_id of the message this one edits: its text replaces it.",
    )
    part_of: str | None = Field(
        default=None,
        max_length=998,
        description="thread.message_id of the first part of a multi-part message (a "
        "Telegram album): this part's attachments and text are added to it.",
    )
    sent_at: datetime | None = None
    received_at: datetime = Field(default_factory=utcnow)

    def partition_key(self) -> str:
        return f"{self.channel.value}:{self.sender.channel_user_id}".lower()


class CallKind(StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    COMPLETED = "completed"


class CallEvent(Record, NoNulModel):
    """A telephony event. Key: ``phone:<caller E.164>``. NUL characters (a PBX's numbers
    or names) are dropped like in ``InboundMessage``."""

    schema_name: ClassVar[str] = "call_event"

    idempotency_key: NonEmpty
    channel_account: NonEmpty
    call_id: NonEmpty
    kind: CallKind
    direction: Literal["inbound", "outbound"]
    from_number: str
    to_number: str
    extension: str | None = None
    duration_seconds: int | None = Field(default=None, ge=0)
    missed: bool = False
    recording_url: str | None = None
    occurred_at: datetime = Field(default_factory=utcnow)

    def partition_key(self) -> str:
        number = self.from_number if self.direction == "inbound" else self.to_number
        return f"phone:{number}"


class TicketEventKind(StrEnum):
    TICKET_CREATED = "ticket.created"
    MESSAGE_ADDED = "message.added"
    MESSAGE_UPDATED = "message.updated"
    STATUS_CHANGED = "status.changed"
    RESPONSIBLE_CHANGED = "responsible.changed"
    FIELD_CHANGED = "field.changed"  # priority, type, observers (details: the audit trail)
    SLA_WARNING = "sla.warning"  # details: target (reaction | resolution), due_at
    SLA_BREACHED = "sla.breached"  # details: target, due_at
    AGENT_MENTIONED = "agent.mentioned"  # details: agent_ids (comma-separated)
    ESCALATED = "ticket.escalated"  # details: line, group_id (returned: line "1")
    RATED = "ticket.rated"  # details: rating (good | neutral | bad)
    NOTIFY_REQUESTED = "notify.requested"  # a trigger's "send a notification": details: template


class TicketEvent(Record):
    """Something that happened to a ticket. Key: ticket id."""

    schema_name: ClassVar[str] = "ticket_event"

    event_id: str = Field(default_factory=new_id)
    kind: TicketEventKind
    ticket_id: int
    ticket_number: int
    contact_id: int | None = None
    message_id: int | None = None
    channel: Channel | None = None
    status: str | None = None
    previous_status: str | None = None
    internal: bool = False
    occurred_at: datetime = Field(default_factory=utcnow)
    actor_agent_id: int | None = Field(
        default=None, description="The agent who caused it; None for customers and the system."
    )
    details: dict[str, str] = Field(
        default_factory=dict, description="Facts of the kind (see TicketEventKind comments)."
    )
    trigger_depth: int = Field(
        default=0,
        ge=0,
        description="0 for events caused by people or channels; n+1 for those caused by a "
        "trigger reacting to an event of depth n (bounds trigger chains).",
    )

    def partition_key(self) -> str:
        return str(self.ticket_id)


class OutboundMessage(Record):
    """A reply or notification to send on a channel. Key: ticket id (or recipient)."""

    schema_name: ClassVar[str] = "outbound_message"

    outbound_id: str = Field(default_factory=new_id)
    ticket_id: int | None = None
    message_id: int | None = None
    channel: Channel
    channel_account: NonEmpty
    recipient: NonEmpty
    subject: str = ""
    text: str = ""
    html: str | None = None
    attachments: tuple[AttachmentRef, ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    email_message_id: str | None = Field(
        default=None, description="The Message-ID ticket-core assigned (and recorded) for email."
    )
    automatic: bool = Field(
        default=False, description="Sent by the system, not an agent: Auto-Submitted on email."
    )

    def partition_key(self) -> str:
        return str(self.ticket_id) if self.ticket_id is not None else self.recipient


class DeliveryState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class DeliveryEvent(Record):
    """What we learned about an outbound message. Key: outbound id."""

    schema_name: ClassVar[str] = "delivery_event"

    event_id: str = Field(default_factory=new_id)
    outbound_id: NonEmpty
    message_id: int | None = None
    state: DeliveryState
    reason: str | None = None
    provider_message_id: str | None = None
    details: dict[str, str] = Field(
        default_factory=dict,
        description="Facts of the sending recorded on the message (SMS: segments, encoding).",
    )
    occurred_at: datetime = Field(default_factory=utcnow)

    def partition_key(self) -> str:
        return self.outbound_id


class RawWebhook(Record):
    """A verified webhook body exactly as the provider sent it. Key: channel account."""

    schema_name: ClassVar[str] = "raw_webhook"

    raw_id: str = Field(default_factory=new_id)
    channel: Channel
    channel_account: NonEmpty
    content_type: str = "application/json"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str = Field(description="The body as received, decoded as UTF-8.")
    source_ip: str | None = None
    received_at: datetime = Field(default_factory=utcnow)

    def partition_key(self) -> str:
        return f"{self.channel.value}:{self.channel_account}"


ALL_RECORDS: tuple[type[Record], ...] = (
    InboundMessage,
    CallEvent,
    TicketEvent,
    OutboundMessage,
    DeliveryEvent,
    RawWebhook,
)
