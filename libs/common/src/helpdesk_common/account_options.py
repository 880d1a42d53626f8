"""Per-channel-account options that ticket-core applies to the messages of an account.

They live in the account's ``config`` (JSONB) beside the channel's own settings, for
every channel:

- ``reopen_window_days`` (number >= 0, default ``TICKET_CORE_REOPEN_WINDOW_DAYS``): a
  customer message on a ticket resolved at most this long ago reopens it; later, it
  opens a new ticket linked to the old one;
- ``default_group_id`` (an agent group id or null): the group made responsible for a new
  ticket that nothing else assigned;
- ``create_unknown_contacts`` (bool, default true): whether a sender no contact is known
  by becomes a new contact. When false the message still becomes a ticket, with no
  contact; the sender's address is kept on the message and replies go there.

``check_options`` is the strict check of the API (one message naming the key, never a
value); ``AccountOptions.from_config`` is the lenient reading of ingestion (a value
written before the check existed falls back to the default rather than failing a batch).
Channel settings schemas that forbid unknown keys (email's IMAP settings) drop these
keys first: ``without_options``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

REOPEN_WINDOW_DAYS = "reopen_window_days"
DEFAULT_GROUP_ID = "default_group_id"
CREATE_UNKNOWN_CONTACTS = "create_unknown_contacts"
OPTION_KEYS = (REOPEN_WINDOW_DAYS, DEFAULT_GROUP_ID, CREATE_UNKNOWN_CONTACTS)

MAX_REOPEN_WINDOW_DAYS = 36_500.0  # a hundred years: beyond that timedelta arithmetic overflows


class InvalidAccountOptions(ValueError):
    """An option with a value of the wrong type or range; the message names the key."""


def without_options(config: dict[str, Any]) -> dict[str, Any]:
    """The config without the account options (for channel schemas that forbid extras)."""
    return {k: v for k, v in config.items() if k not in OPTION_KEYS}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_options(config: dict[str, Any]) -> None:
    """Raise ``InvalidAccountOptions`` for a bad option value (absent keys are fine).

    Whether ``default_group_id`` names an existing group is the caller's check (it
    needs the database).
    """
    if REOPEN_WINDOW_DAYS in config:
        days = config[REOPEN_WINDOW_DAYS]
        if not _number(days) or not math.isfinite(days) or days < 0:
            raise InvalidAccountOptions(f"config.{REOPEN_WINDOW_DAYS}: a number of days >= 0")
        if days > MAX_REOPEN_WINDOW_DAYS:
            raise InvalidAccountOptions(
                f"config.{REOPEN_WINDOW_DAYS}: at most {MAX_REOPEN_WINDOW_DAYS:g} days"
            )
    if DEFAULT_GROUP_ID in config:
        group = config[DEFAULT_GROUP_ID]
        if group is not None and (not isinstance(group, int) or isinstance(group, bool)):
            raise InvalidAccountOptions(f"config.{DEFAULT_GROUP_ID}: an agent group id or null")
        if isinstance(group, int) and group < 1:
            raise InvalidAccountOptions(f"config.{DEFAULT_GROUP_ID}: an agent group id or null")
    if CREATE_UNKNOWN_CONTACTS in config and not isinstance(config[CREATE_UNKNOWN_CONTACTS], bool):
        raise InvalidAccountOptions(f"config.{CREATE_UNKNOWN_CONTACTS}: true or false")


@dataclass(frozen=True)
class AccountOptions:
    reopen_window: timedelta
    default_group_id: int | None = None
    create_unknown_contacts: bool = True

    @classmethod
    def defaults(cls, reopen_window: timedelta) -> AccountOptions:
        return cls(reopen_window)

    @classmethod
    def from_config(cls, config: dict[str, Any], default_window: timedelta) -> AccountOptions:
        """Lenient: a malformed value is ignored (its default applies)."""
        days = config.get(REOPEN_WINDOW_DAYS)
        window = default_window
        if days is not None:
            try:
                check_options({REOPEN_WINDOW_DAYS: days})
                window = timedelta(days=float(days))
            except InvalidAccountOptions:
                pass
        group = config.get(DEFAULT_GROUP_ID)
        create = config.get(CREATE_UNKNOWN_CONTACTS)
        return cls(
            reopen_window=window,
            default_group_id=group
            if _number(group) and isinstance(group, int) and group > 0
            else None,
            create_unknown_contacts=create if isinstance(create, bool) else True,
        )
