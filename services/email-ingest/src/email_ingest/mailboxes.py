"""Mailbox configuration: which IMAP folders to read, how, and for which channel account.

For the embedded default the list comes from the environment, ``EMAIL_INGEST_MAILBOXES``,
as a JSON list of objects with the fields of ``MailboxConfig``, e.g.::

    [{"name": "support", "host": "imap.example.com", "port": 993, "security": "tls",
      "login": "support@example.com", "password": "...", "own_addresses": ["support@example.com"],
      "processed": "flag"}]

The password is a ``SecretStr``: it never appears in ``repr``, logs or error messages.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, field_validator

from .context import MailboxContext

Security = Literal["none", "starttls", "tls"]

_MOVE_PREFIX = "move:"
_NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$"
DEFAULT_PROCESSED_KEYWORD = "$HelpdeskProcessed"


class MailboxConfig(BaseModel):
    """One IMAP folder bound to a channel account."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(pattern=_NAME_RE)]
    """Unique mailbox id: names the Redis checkpoint, lease and failed-mail keys."""
    channel_account: str = ""
    """The channel account records are published for; defaults to ``name``."""
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    """Defaults to 993 for ``tls``, 143 otherwise."""
    security: Security = "tls"
    login: str
    password: SecretStr
    folder: str = "INBOX"
    processed: str = "flag"
    """``flag`` (``processed_keyword``, plus ``\\Seen`` if ``mark_seen``) or ``move:<Folder>``."""
    processed_keyword: Annotated[str, Field(pattern=r"^\$?[A-Za-z0-9_.-]{1,64}$")] = (
        DEFAULT_PROCESSED_KEYWORD
    )
    mark_seen: bool = True
    own_addresses: tuple[str, ...] = ()
    """Our own addresses: mail from them is a loop (marked processed, not published)."""
    max_attachment_bytes: int = Field(default=20 * 1024 * 1024, ge=0)
    ticket_token_pattern: str | None = None
    use_idle: bool = True
    """IMAP IDLE when the server supports it; polling every ``poll_interval_seconds`` otherwise."""
    poll_interval_seconds: float = Field(default=60.0, gt=0)
    idle_timeout_seconds: float = Field(default=25 * 60.0, gt=0)
    """IDLE is ended and re-issued after this long (servers drop idle clients at ~30 min)."""
    tls_verify: bool = True
    tls_ca_file: str | None = None
    """A CA bundle (PEM) to trust instead of the system's, e.g. for a private CA."""

    @field_validator("processed")
    @classmethod
    def _processed_action(cls, value: str) -> str:
        if value == "flag":
            return value
        if value.startswith(_MOVE_PREFIX) and value[len(_MOVE_PREFIX) :].strip():
            return _MOVE_PREFIX + value[len(_MOVE_PREFIX) :].strip()
        raise ValueError("processed must be 'flag' or 'move:<Folder>'")

    @field_validator("own_addresses")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(a.strip().lower() for a in value if a.strip())

    @field_validator("ticket_token_pattern")
    @classmethod
    def _one_group(cls, value: str | None) -> str | None:
        if value is not None and re.compile(value).groups != 1:
            raise ValueError("ticket_token_pattern needs exactly one group (the number)")
        return value

    @property
    def account(self) -> str:
        return self.channel_account or self.name

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return 993 if self.security == "tls" else 143

    @property
    def move_to(self) -> str | None:
        """The folder processed mail is moved to, or ``None`` when it is flagged."""
        if self.processed.startswith(_MOVE_PREFIX):
            return self.processed[len(_MOVE_PREFIX) :]
        return None

    def context(self) -> MailboxContext:
        ctx = MailboxContext(
            channel_account=self.account,
            own_addresses=frozenset(self.own_addresses),
            max_attachment_bytes=self.max_attachment_bytes,
        )
        if self.ticket_token_pattern is not None:
            ctx = dataclasses.replace(ctx, ticket_token_pattern=self.ticket_token_pattern)
        return ctx

    def describe(self) -> dict[str, object]:
        """What may be logged about the mailbox (no password)."""
        return {
            "mailbox": self.name,
            "account": self.account,
            "host": self.host,
            "port": self.effective_port,
            "security": self.security,
            "folder": self.folder,
            "processed": self.processed,
        }


_LIST = TypeAdapter(list[MailboxConfig])


def parse_mailboxes(text: str) -> list[MailboxConfig]:
    """Mailboxes from a JSON list; names must be unique."""
    mailboxes = _LIST.validate_json(text) if text.strip() else []
    return check_unique(mailboxes)


def check_unique(mailboxes: list[MailboxConfig]) -> list[MailboxConfig]:
    names = [m.name for m in mailboxes]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate mailbox names: {', '.join(duplicates)}")
    return mailboxes
