"""Channel accounts: the table, secrets encrypted at rest (Fernet), persistence.

Secrets (bot tokens, webhook secrets, VK confirmation strings, IMAP passwords) are one
JSON object encrypted with Fernet under ``TICKET_CORE_SECRETS_KEY`` (several
comma-separated keys rotate: the first encrypts, any decrypts). Without a key nothing is
stored or read. An email account's ``config`` is checked against the IMAP settings that
email-ingest reads (``helpdesk_common.email_accounts``); messenger configs are free-form.
Every account's config may also hold the account options (reopen window, default group,
unknown contacts: ``helpdesk_common.account_options``), checked for every channel.
"""

from __future__ import annotations

import json
import re
import secrets as pysecrets
from datetime import datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from helpdesk_common.account_options import (
    DEFAULT_GROUP_ID,
    InvalidAccountOptions,
    check_options,
)
from helpdesk_common.channel_accounts import CONFIRMATION, TOKEN, WEBHOOK_SECRET
from helpdesk_common.email_accounts import PASSWORD, InvalidEmailAccount, check_email_account
from helpdesk_common.phone_accounts import InvalidPhoneAccount, check_phone_account
from helpdesk_common.records import Channel
from helpdesk_common.sms_providers.accounts import InvalidSmsAccount, check_sms_account
from sqlalchemy import BigInteger, Boolean, Column, DateTime, Text, UniqueConstraint, func, select
from sqlalchemy import delete as sa_delete
from sqlalchemy import update as sa_update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from .models_org import groups

NAME = re.compile(r"^[a-zA-Z0-9_.-]{1,64}$")
TELEGRAM_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
MESSENGERS = (Channel.TELEGRAM, Channel.VIBER, Channel.VK)
MANAGED = (Channel.EMAIL, *MESSENGERS, Channel.SMS, Channel.PHONE)
REQUIRED: dict[Channel, tuple[str, ...]] = {
    Channel.EMAIL: (PASSWORD,),
    Channel.TELEGRAM: (TOKEN, WEBHOOK_SECRET),
    Channel.VIBER: (TOKEN,),
    Channel.VK: (TOKEN, WEBHOOK_SECRET, CONFIRMATION),
    Channel.SMS: (),  # per provider: helpdesk_common.sms_providers.accounts
    Channel.PHONE: (),  # per kind: helpdesk_common.phone_accounts
}


class ChannelAccountRow(SQLModel, table=True):
    __tablename__ = "channel_accounts"
    __table_args__ = (UniqueConstraint("channel", "name", name="uq_channel_account"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    channel: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    display_name: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    enabled: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default="true")
    )
    config: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    secrets_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


table = ChannelAccountRow.__table__  # type: ignore[attr-defined]


class SecretsUnavailable(RuntimeError):
    """No (valid) key: secrets can be neither stored nor read."""


class UndecryptableSecrets(SecretsUnavailable):
    """One account's stored secrets do not decrypt with the configured key(s): the key was
    replaced without keeping the old one, or the row was written by other means. The other
    accounts still work; an administrator enters this account's secrets again."""


class InvalidAccount(ValueError):
    pass


class SecretBox:
    """Fernet encryption of the secrets object; refuses to work without a key."""

    def __init__(self, keys: str | None) -> None:
        self._fernet: MultiFernet | None = None
        if keys:
            try:
                self._fernet = MultiFernet([Fernet(k.strip()) for k in keys.split(",") if k])
            except ValueError as exc:
                raise SecretsUnavailable(
                    "TICKET_CORE_SECRETS_KEY is not a valid Fernet key (32 url-safe base64 "
                    "bytes; create one with cryptography.fernet.Fernet.generate_key())"
                ) from exc

    @property
    def available(self) -> bool:
        return self._fernet is not None

    def _box(self) -> MultiFernet:
        if self._fernet is None:
            raise SecretsUnavailable(
                "TICKET_CORE_SECRETS_KEY is not set: channel account secrets cannot be stored"
                " or read"
            )
        return self._fernet

    def seal(self, values: dict[str, str]) -> str:
        return self._box().encrypt(json.dumps(values).encode()).decode()

    def open(self, sealed: str) -> dict[str, str]:
        try:
            data: dict[str, str] = json.loads(self._box().decrypt(sealed.encode()))
        except InvalidToken as exc:
            raise UndecryptableSecrets(
                "stored secrets do not decrypt with the configured key"
            ) from exc
        return data

    def readable(self, sealed: str) -> dict[str, str] | None:
        """The secrets, or None when they do not decrypt (a missing key still raises)."""
        try:
            return self.open(sealed)
        except UndecryptableSecrets:
            return None


def check_account(
    channel: Channel,
    name: str,
    secrets: dict[str, str],
    config: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Validate; fills a Telegram webhook secret when none was given. Returns the secrets.

    ``config`` is checked for email accounts (the IMAP settings); error messages name the
    setting that is wrong, never a value.
    """
    if channel not in MANAGED:
        raise InvalidAccount(f"channel accounts are managed for {', '.join(MANAGED)}")
    if not NAME.match(name):
        raise InvalidAccount("name: 1-64 characters of A-Z a-z 0-9 _ . -")
    secrets = {k: v for k, v in secrets.items() if v}
    try:
        check_options(config or {})
    except InvalidAccountOptions as exc:
        raise InvalidAccount(str(exc)) from None
    if channel is Channel.TELEGRAM:
        secrets.setdefault(WEBHOOK_SECRET, pysecrets.token_urlsafe(32))
        if not TELEGRAM_SECRET.match(secrets[WEBHOOK_SECRET]):
            raise InvalidAccount("telegram webhook_secret: 1-256 characters of A-Z a-z 0-9 _ -")
    missing = [k for k in REQUIRED[channel] if not secrets.get(k)]
    if missing:
        raise InvalidAccount(f"{channel.value} accounts need secrets: {', '.join(missing)}")
    if channel is Channel.EMAIL:
        try:
            check_email_account(name, config or {}, secrets)
        except InvalidEmailAccount as exc:
            raise InvalidAccount(str(exc)) from None
    try:
        if channel is Channel.SMS:
            check_sms_account(config or {}, secrets)
        elif channel is Channel.PHONE:
            check_phone_account(config or {}, secrets)
    except (InvalidSmsAccount, InvalidPhoneAccount) as exc:
        raise InvalidAccount(str(exc)) from None
    return secrets


async def missing_default_group(session: AsyncSession, config: dict[str, Any]) -> str | None:
    """Why the config's ``default_group_id`` is refused (no such group), or None."""
    group_id = config.get(DEFAULT_GROUP_ID)
    if group_id is None:
        return None
    found = await session.scalar(select(groups.c.id).where(groups.c.id == group_id))
    return None if found is not None else f"config.{DEFAULT_GROUP_ID}: no agent group {group_id}"


async def insert_account(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any] | None:
    """Insert; None when the (channel, name) exists."""
    row = await session.execute(
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[table.c.channel, table.c.name])
        .returning(table)
    )
    found = row.mappings().first()
    return dict(found) if found else None


async def account_by_name(
    session: AsyncSession, channel: str, name: str, *, for_update: bool = False
) -> dict[str, Any] | None:
    query = select(table).where(table.c.channel == channel, table.c.name == name)
    row = await session.execute(query.with_for_update() if for_update else query)
    found = row.mappings().first()
    return dict(found) if found else None


async def list_accounts(session: AsyncSession, channel: str | None) -> list[dict[str, Any]]:
    query = select(table).order_by(table.c.channel, table.c.name)
    if channel:
        query = query.where(table.c.channel == channel)
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def delete_account(session: AsyncSession, channel: str, name: str) -> bool:
    """Delete; False when there was no such account."""
    row = await session.execute(
        sa_delete(table)
        .where(table.c.channel == channel, table.c.name == name)
        .returning(table.c.id)
    )
    return row.first() is not None


async def update_account(
    session: AsyncSession, account_id: int, values: dict[str, Any]
) -> dict[str, Any]:
    row = await session.execute(
        sa_update(table)
        .where(table.c.id == account_id)
        .values(**values, updated_at=func.now())
        .returning(table)
    )
    return dict(row.mappings().one())
