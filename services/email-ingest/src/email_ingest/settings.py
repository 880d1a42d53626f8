from __future__ import annotations

import os
import socket
import uuid

from helpdesk_common.settings import ServiceSettings
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from .mailboxes import MailboxConfig, check_unique


def default_replica_id() -> str:
    """Unique per process: two replicas on one host are still told apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class EmailIngestSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="EMAIL_INGEST_", extra="ignore", populate_by_name=True
    )

    service_name: str = "email-ingest"
    http_port: int = 8082

    mailboxes: list[MailboxConfig] = Field(default_factory=list)
    """``EMAIL_INGEST_MAILBOXES``: a JSON list of mailbox objects (see ``mailboxes.py``)."""
    ticket_core_url: str | None = None
    """With ``internal_token``: also poll the email channel accounts configured in ticket-core."""
    internal_token: str | None = Field(default=None, repr=False)
    mailbox_refresh_seconds: float = Field(default=30.0, gt=0)
    """How often the email channel accounts are re-read (new, changed, removed mailboxes)."""
    replica_id: str = Field(default_factory=default_replica_id)
    redis_prefix: str = "email-ingest"
    lease_ttl_seconds: float = Field(default=30.0, gt=0)
    """A mailbox whose poller died is taken over by another replica after this long."""
    imap_timeout_seconds: float = Field(default=30.0, gt=0)
    backoff_initial_seconds: float = Field(default=1.0, gt=0)
    backoff_max_seconds: float = Field(default=120.0, gt=0)
    failed_list_max: int = Field(default=10_000, ge=1)

    @property
    def accounts_configured(self) -> bool:
        """Whether mailboxes also come from ticket-core's email channel accounts."""
        return bool(self.ticket_core_url and self.internal_token)

    @field_validator("mailboxes")
    @classmethod
    def _unique(cls, value: list[MailboxConfig]) -> list[MailboxConfig]:
        return check_unique(value)
