"""Mailbox configuration: which IMAP folders to read, how, and for which channel account.

Mailboxes come from two places:

- the environment, ``EMAIL_INGEST_MAILBOXES``: a JSON list of objects with the fields of
  ``MailboxConfig``, e.g.::

    [{"name": "support", "host": "imap.example.com", "port": 993, "security": "tls",
      "login": "support@example.com", "password": "...", "own_addresses": ["support@example.com"],
      "processed": "flag"}]

- email channel accounts in ticket-core (``mailbox_from_account``): the account's
  ``config`` holds the ``ImapSettings`` fields, its ``password`` secret the password, and
  its name is both the mailbox name and the channel account.

The password is a ``SecretStr``: it never appears in ``repr``, logs or error messages.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from helpdesk_common.channel_accounts import ChannelAccount
from helpdesk_common.email_accounts import (
    DEFAULT_PROCESSED_KEYWORD,
    MAILBOX_NAME,
    PASSWORD,
    ImapSettings,
    Security,
    check_email_account,
)
from pydantic import Field, SecretStr, TypeAdapter

from .context import MailboxContext

__all__ = [
    "DEFAULT_PROCESSED_KEYWORD",
    "MailboxConfig",
    "Security",
    "check_unique",
    "mailbox_from_account",
    "parse_mailboxes",
]

_MOVE_PREFIX = "move:"


class MailboxConfig(ImapSettings):
    """One IMAP folder bound to a channel account."""

    name: Annotated[str, Field(pattern=MAILBOX_NAME)]
    """Unique mailbox id: names the Redis checkpoint, lease and failed-mail keys."""
    channel_account: str = ""
    """The channel account records are published for; defaults to ``name``."""
    password: SecretStr

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


def mailbox_from_account(account: ChannelAccount) -> MailboxConfig:
    """The mailbox of an email channel account; ``InvalidEmailAccount`` if it cannot be one.

    The error message names the settings that are wrong, never a value (no password).
    """
    password = account.secret(PASSWORD) or ""
    settings = check_email_account(account.name, account.config, {PASSWORD: password})
    return MailboxConfig(
        **settings.model_dump(),
        name=account.name,
        channel_account=account.name,
        password=SecretStr(password),
    )


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
