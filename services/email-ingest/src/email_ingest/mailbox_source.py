"""Mailboxes from ticket-core: the enabled email channel accounts, as ``MailboxConfig``s.

Each account is one mailbox named after it (``name`` = ``channel_account`` = the account
name): its ``config`` holds the IMAP settings, its ``password`` secret the password. A
disabled account is no mailbox. An account that cannot be a mailbox (ticket-core checks
the config on create and patch, so this is a config written before that, or by a newer
schema) is left out and logged once per distinct problem, by its setting names only.
"""

from __future__ import annotations

from typing import Protocol

from helpdesk_common import logs
from helpdesk_common.channel_accounts import ChannelAccount
from helpdesk_common.email_accounts import InvalidEmailAccount
from helpdesk_common.records import Channel

from .mailboxes import MailboxConfig, mailbox_from_account

log = logs.get_logger(__name__)


class AccountLister(Protocol):
    async def list_accounts(self, channel: Channel) -> list[ChannelAccount]: ...


class MailboxSource(Protocol):
    async def load(self) -> dict[str, MailboxConfig]:
        """The mailboxes wanted now, by name; raises when the answer is unknown."""
        ...


class AccountMailboxes:
    """``MailboxSource`` over ticket-core's internal channel account listing."""

    def __init__(self, accounts: AccountLister) -> None:
        self.accounts = accounts
        self._reported: dict[str, str] = {}

    async def load(self) -> dict[str, MailboxConfig]:
        """Raises ``TransientError`` when ticket-core cannot answer (keep what runs)."""
        found: dict[str, MailboxConfig] = {}
        problems: dict[str, str] = {}
        for account in await self.accounts.list_accounts(Channel.EMAIL):
            if not account.enabled:
                continue
            try:
                found[account.name] = mailbox_from_account(account)
            except InvalidEmailAccount as exc:
                problems[account.name] = str(exc)
        for name, problem in problems.items():
            if self._reported.get(name) != problem:
                log.error("mailbox_account_invalid", account=name, error=problem)
        self._reported = problems
        return found
