"""The settings of an email channel account: one IMAP folder and how its mail is read.

One schema for both sides: ticket-core validates an email account's ``config`` with it on
create and patch (a clear 422 instead of a mailbox that never connects), and email-ingest
builds its ``MailboxConfig`` on it, whether the mailbox comes from the environment
(``EMAIL_INGEST_MAILBOXES``) or from a channel account. The password is never part of
the config: it is the account's ``password`` secret.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .account_options import without_options

Security = Literal["none", "starttls", "tls"]

PASSWORD = "password"
"""The secret that holds the IMAP password of an email channel account."""
MAILBOX_NAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$"
"""Mailbox (and email channel account) names: they name Redis keys and appear in logs."""
DEFAULT_PROCESSED_KEYWORD = "$HelpdeskProcessed"
_MOVE_PREFIX = "move:"


class ImapSettings(BaseModel):
    """Where and how one IMAP folder is read (everything but its name and password)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[^\s/]+$")]
    port: int | None = Field(default=None, ge=1, le=65535)
    """Defaults to 993 for ``tls``, 143 otherwise."""
    security: Security = "tls"
    login: Annotated[str, Field(min_length=1, max_length=320)]
    folder: Annotated[str, Field(min_length=1, max_length=512)] = "INBOX"
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
    poll_interval_seconds: float = Field(default=60.0, gt=0, le=24 * 3600)
    idle_timeout_seconds: float = Field(default=25 * 60.0, gt=0, le=24 * 3600)
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
        cleaned = tuple(a.strip().lower() for a in value if a.strip())
        bad = [a for a in cleaned if "@" not in a or any(c.isspace() for c in a)]
        if bad:
            raise ValueError(f"own_addresses must be email addresses, not {', '.join(bad)}")
        return cleaned

    @field_validator("ticket_token_pattern")
    @classmethod
    def _one_group(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            groups = re.compile(value).groups
        except re.error as exc:
            raise ValueError(f"ticket_token_pattern is not a regular expression: {exc}") from exc
        if groups != 1:
            raise ValueError("ticket_token_pattern needs exactly one group (the number)")
        return value


def describe_errors(exc: ValidationError, prefix: str = "") -> str:
    """A validation error as one line, without the offending input values (no secrets)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting"
        parts.append(f"{prefix}{where}: {message}" if where else f"{prefix}{message}")
    return "; ".join(parts)


class InvalidEmailAccount(ValueError):
    """An email channel account whose config or secrets cannot make a mailbox."""


def check_email_account(name: str, config: dict[str, Any], secrets: dict[str, Any]) -> ImapSettings:
    """Validate an email channel account; the message names what is wrong, never a value.

    The account options (``helpdesk_common.account_options``: reopen window, default
    group, unknown contacts) share the config; they are ticket-core's and ignored here.
    """
    if not re.match(MAILBOX_NAME, name):
        raise InvalidEmailAccount(
            "name: email account names start with a letter or digit (A-Z a-z 0-9 . _ @ -)"
        )
    if PASSWORD in config:
        raise InvalidEmailAccount("config.password: the password goes in secrets, not config")
    try:
        settings = ImapSettings.model_validate(without_options(config))
    except ValidationError as exc:
        raise InvalidEmailAccount(
            f"invalid email account config: {describe_errors(exc, 'config.')}"
        ) from None
    if not secrets.get(PASSWORD):
        raise InvalidEmailAccount("email accounts need secrets: password")
    return settings
