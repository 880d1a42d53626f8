"""The ``message_edits`` table: every edit or album part applied to a stored message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class MessageEdit(SQLModel, table=True):
    __tablename__ = "message_edits"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    message_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("messages.id"), nullable=False, index=True)
    )
    idempotency_key: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    previous_text: str = Field(
        default="", sa_column=Column(Text, nullable=False, server_default="")
    )
    attachments: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    correlation_id: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


edits = MessageEdit.__table__  # type: ignore[attr-defined]
