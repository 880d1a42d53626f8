"""Channel accounts over HTTP: managed on the public API (secrets write-only), read with
their secrets on the internal API by the gateway, messenger-ingest, the notifier and
email-ingest (which lists the email accounts: its mailboxes)."""

from __future__ import annotations

import secrets as pysecrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from helpdesk_common.channel_accounts import INTERNAL_PATH
from helpdesk_common.logs import get_logger
from helpdesk_common.records import Channel
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import channel_accounts as store
from .api_common import bearer_auth
from .settings import TicketCoreSettings

log = get_logger(__name__)


class ChannelAccountSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TICKET_CORE_", extra="ignore")

    secrets_key: str | None = Field(
        default=None, description="Fernet key(s), comma-separated; the first encrypts."
    )
    internal_token: str | None = Field(
        default=None, description="Bearer token of the internal lookup API (other services)."
    )
    # "Test connection" (connection_probe.py): where the messenger APIs are, how long to wait.
    telegram_api_base_url: str = "https://api.telegram.org"
    viber_api_base_url: str = "https://chatapi.viber.com/pa"
    vk_api_base_url: str = "https://api.vk.ru"
    connection_test_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    gateway_public_url: str | None = Field(
        default=None, description="The gateway's public URL: the PBX webhook address shown."
    )


class AccountIn(BaseModel):
    channel: Channel
    name: str = Field(min_length=1, max_length=64)
    display_name: str = Field(default="", max_length=256)
    enabled: bool = True
    config: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict, description="Write-only.")


class AccountPatch(BaseModel):
    display_name: str | None = Field(default=None, max_length=256)
    enabled: bool | None = None
    config: dict[str, Any] | None = Field(default=None, description="Merged; null deletes a key.")
    secrets: dict[str, str | None] | None = Field(
        default=None, description="Merged; null deletes a key. Write-only."
    )


class AccountOut(BaseModel):
    channel: Channel
    name: str
    display_name: str
    enabled: bool
    config: dict[str, Any]
    secret_names: list[str] = Field(description="Which secrets are set (never their values).")
    secrets_readable: bool = Field(
        default=True,
        description="False when the stored secrets do not decrypt with the configured key: "
        "the account is left out of the other services' lookups until its secrets are set again.",
    )
    created_at: Any
    updated_at: Any


class AccountInternal(BaseModel):
    channel: Channel
    name: str
    display_name: str
    enabled: bool
    config: dict[str, Any]
    secrets: dict[str, str]


def _public(row: dict[str, Any], secrets: dict[str, str] | None) -> AccountOut:
    return AccountOut(
        **{k: row[k] for k in AccountOut.model_fields if k in row},
        secret_names=sorted(secrets or ()),
        secrets_readable=secrets is not None,
    )


async def _check_group(session: AsyncSession, config: dict[str, Any]) -> None:
    problem = await store.missing_default_group(session, config)
    if problem is not None:
        raise HTTPException(422, problem)


async def create_account(
    sessions: async_sessionmaker[AsyncSession], sealer: store.SecretBox, body: AccountIn
) -> AccountOut:
    """Validate and store a new account (the API's and the console's path): 422 when
    invalid, 409 when the (channel, name) exists."""
    try:
        secrets = store.check_account(body.channel, body.name, body.secrets, body.config)
    except store.InvalidAccount as exc:
        raise HTTPException(422, str(exc)) from exc
    values = body.model_dump(exclude={"secrets"}) | {
        "channel": body.channel.value,
        "secrets_encrypted": sealer.seal(secrets),
    }
    async with sessions() as session, session.begin():
        await _check_group(session, body.config)
        row = await store.insert_account(session, values)
    if row is None:
        raise HTTPException(409, f"{body.channel.value} account {body.name!r} exists")
    log.info("channel_account_created", channel=body.channel.value, account=body.name)
    return _public(row, secrets)


async def load_account(
    session: AsyncSession, channel: Channel, name: str, for_update: bool = False
) -> dict[str, Any]:
    row = await store.account_by_name(session, channel.value, name, for_update=for_update)
    if row is None:
        raise HTTPException(404, f"no {channel.value} account {name!r}")
    return row


async def patch_account(
    sessions: async_sessionmaker[AsyncSession],
    sealer: store.SecretBox,
    channel: Channel,
    name: str,
    body: AccountPatch,
) -> AccountOut:
    """Merge a change into an account (config and secrets merged, null deletes a key),
    validated as a whole: 404, 422."""
    async with sessions() as session, session.begin():
        row = await load_account(session, channel, name, for_update=True)
        # Unreadable secrets count as none: the patch sets them again (or is refused, 422).
        secrets = sealer.readable(row["secrets_encrypted"]) or {}
        values: dict[str, Any] = body.model_dump(
            include={"display_name", "enabled"}, exclude_none=True
        )
        config: dict[str, Any] = row["config"]
        if body.config is not None:
            merged = {**config, **body.config}
            config = values["config"] = {k: v for k, v in merged.items() if v is not None}
        new_secrets = secrets
        if body.secrets is not None:
            merged_secrets = {**secrets, **body.secrets}
            new_secrets = {k: v for k, v in merged_secrets.items() if v is not None}
        if body.config is not None or body.secrets is not None:
            try:
                new_secrets = store.check_account(channel, name, new_secrets, config)
            except store.InvalidAccount as exc:
                raise HTTPException(422, str(exc)) from exc
        if body.config is not None:
            await _check_group(session, config)
        if body.secrets is not None:
            secrets = new_secrets
            values["secrets_encrypted"] = sealer.seal(secrets)
        row = await store.update_account(session, row["id"], values)
    log.info("channel_account_updated", channel=channel.value, account=name, changed=sorted(values))
    return _public(row, secrets)


def channel_accounts_router(
    settings: TicketCoreSettings, sessions: async_sessionmaker[AsyncSession]
) -> APIRouter:
    own = ChannelAccountSettings()
    box = store.SecretBox(own.secrets_key)  # a malformed key fails the start, loudly
    if not box.available:
        log.warning("channel_account_secrets_disabled", reason="TICKET_CORE_SECRETS_KEY not set")

    def sealed_box() -> store.SecretBox:
        if not box.available:
            raise HTTPException(
                503,
                "TICKET_CORE_SECRETS_KEY is not set: channel account "
                "secrets cannot be stored or read",
            )
        return box

    agent = bearer_auth(settings)  # the API token or an agent session (access.py)

    async def service(authorization: Annotated[str | None, Header()] = None) -> None:
        if not own.internal_token:
            raise HTTPException(503, "TICKET_CORE_INTERNAL_TOKEN is not set")
        expected = f"Bearer {own.internal_token}"
        if authorization is None or not pysecrets.compare_digest(authorization, expected):
            raise HTTPException(status_code=401, detail="missing or wrong internal token")

    public = APIRouter(
        prefix="/api/v1/channel-accounts", tags=["channel accounts"], dependencies=[Depends(agent)]
    )
    internal = APIRouter(prefix=INTERNAL_PATH, tags=["internal"], dependencies=[Depends(service)])

    @public.post("", response_model=AccountOut, status_code=201)
    async def create(body: AccountIn) -> AccountOut:
        return await create_account(sessions, sealed_box(), body)

    @public.get("", response_model=list[AccountOut])
    async def list_all(channel: Annotated[Channel | None, Query()] = None) -> list[AccountOut]:
        sealer = sealed_box()
        async with sessions() as session:
            rows = await store.list_accounts(session, channel.value if channel else None)
        return [_public(r, sealer.readable(r["secrets_encrypted"])) for r in rows]

    @public.get("/{channel}/{name}", response_model=AccountOut)
    async def get_one(channel: Channel, name: str) -> AccountOut:
        sealer = sealed_box()
        async with sessions() as session:
            row = await load_account(session, channel, name)
        return _public(row, sealer.readable(row["secrets_encrypted"]))

    @public.patch("/{channel}/{name}", response_model=AccountOut)
    async def patch(channel: Channel, name: str, body: AccountPatch) -> AccountOut:
        return await patch_account(sessions, sealed_box(), channel, name, body)

    @public.delete("/{channel}/{name}", status_code=204)
    async def delete(channel: Channel, name: str) -> None:
        async with sessions() as session, session.begin():
            if not await store.delete_account(session, channel.value, name):
                raise HTTPException(404, f"no {channel.value} account {name!r}")
        log.info("channel_account_deleted", channel=channel.value, account=name)

    def _internal(row: dict[str, Any], secrets: dict[str, str]) -> AccountInternal:
        return AccountInternal(
            **{k: row[k] for k in ("display_name", "enabled", "config", "name")},
            channel=Channel(row["channel"]),
            secrets=secrets,
        )

    @internal.get("/{channel}", response_model=list[AccountInternal])
    async def list_channel(channel: Channel) -> list[AccountInternal]:
        """Every account of one channel, enabled or not, with its secrets. An account whose
        secrets do not decrypt is left out (and logged), so it cannot stop the others."""
        sealer = sealed_box()
        async with sessions() as session:
            rows = await store.list_accounts(session, channel.value)
        found = []
        for row in rows:
            secrets = sealer.readable(row["secrets_encrypted"])
            if secrets is None:
                log.error(
                    "channel_account_secrets_undecryptable",
                    channel=channel.value,
                    account=row["name"],
                )
                continue
            found.append(_internal(row, secrets))
        return found

    @internal.get("/{channel}/{name}", response_model=AccountInternal)
    async def lookup(channel: Channel, name: str) -> AccountInternal:
        sealer = sealed_box()
        async with sessions() as session:
            row = await load_account(session, channel, name)
        secrets = sealer.readable(row["secrets_encrypted"])
        if secrets is None:
            raise HTTPException(
                503,
                f"the secrets of {channel.value} account {name!r} do not decrypt with the "
                "configured key (TICKET_CORE_SECRETS_KEY); set them again",
            )
        return _internal(row, secrets)

    router = APIRouter()
    router.include_router(public)
    router.include_router(internal)
    return router
