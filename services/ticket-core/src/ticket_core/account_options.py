"""The options of the channel accounts a batch arrives on.

A message's account is ``(channel, channel_account)``; an account with no row (a web form,
an environment-configured mailbox nobody created an account for) has the defaults. Every
account's options are read together, with the default groups that still exist (a group
deleted after it was configured is ignored, never a failed batch), and cached per
configuration version (``ingest_config.py``).

The default groups feed routing's default chain (``routing_writer.route_new_tickets``):
the account's group is the last step, after the service object's, the contact's and the
company's managers.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from helpdesk_common.account_options import AccountOptions
from helpdesk_common.records import InboundMessage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .channel_accounts import table as accounts
from .models_org import groups

AccountKey = tuple[str, str]

__all__ = ["AccountOptions", "OptionsBook", "all_account_options"]


class OptionsBook:
    """Options per account, with the defaults for accounts that have no row."""

    def __init__(self, found: dict[AccountKey, AccountOptions], default_window: timedelta) -> None:
        self._found = found
        self._default = AccountOptions.defaults(default_window)

    def of(self, channel: str, account: str) -> AccountOptions:
        return self._found.get((channel, account), self._default)

    def for_message(self, message: InboundMessage) -> AccountOptions:
        return self.of(message.channel.value, message.channel_account)

    def default_groups(self) -> dict[AccountKey, int]:
        """(channel, account) -> its default group, for the accounts that have one."""
        return {key: o.default_group_id for key, o in self._found.items() if o.default_group_id}


async def all_account_options(
    session: AsyncSession, default_window: timedelta
) -> dict[AccountKey, AccountOptions]:
    """The options of every account (few rows; ``ingest_config.py`` caches them per
    configuration version)."""
    rows = await session.execute(select(accounts.c.channel, accounts.c.name, accounts.c.config))
    found = {
        (str(channel), str(name)): AccountOptions.from_config(config or {}, default_window)
        for channel, name, config in rows
    }
    group_ids = {o.default_group_id for o in found.values() if o.default_group_id is not None}
    if group_ids:
        existing = set(
            (await session.scalars(select(groups.c.id).where(groups.c.id.in_(group_ids)))).all()
        )
        for key, options in found.items():
            if options.default_group_id is not None and options.default_group_id not in existing:
                found[key] = replace(options, default_group_id=None)
    return found
