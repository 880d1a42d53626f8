""" "Test connection" for SMS channel accounts: the provider's balance, or its error.

``POST /api/v1/channel-accounts/sms/{name}/test`` asks the provider the account names
(``helpdesk_common.sms_providers``, the same clients the notifier sends with) for the
balance with the account's stored credentials: ``{"ok": true, "balance", "currency"}``,
or ``{"ok": false, "error": <the provider's text>}`` (bad credentials, unreachable).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from helpdesk_common.channel_accounts import ChannelAccount
from helpdesk_common.consuming import TransientError
from helpdesk_common.logs import get_logger
from helpdesk_common.records import Channel
from helpdesk_common.sms_providers import ProviderRefused, make_provider
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import channel_accounts as store
from .api_common import bearer_auth
from .channel_accounts_api import ChannelAccountSettings
from .settings import TicketCoreSettings

log = get_logger(__name__)


class ConnectionTest(BaseModel):
    ok: bool
    provider: str | None = None
    balance: str | None = None
    currency: str | None = None
    error: str | None = None


async def check_connection(account: ChannelAccount, timeout: float = 15.0) -> ConnectionTest:
    provider_name = str(account.config.get("provider") or "") or None
    try:
        provider = make_provider(account, timeout)
    except (ProviderRefused, LookupError) as exc:
        return ConnectionTest(ok=False, provider=provider_name, error=str(exc))
    try:
        balance = await provider.balance()
    except (ProviderRefused, TransientError) as exc:
        return ConnectionTest(ok=False, provider=provider.name, error=str(exc))
    finally:
        await provider.aclose()
    return ConnectionTest(
        ok=True, provider=provider.name, balance=balance.amount, currency=balance.currency
    )


def sms_router(
    settings: TicketCoreSettings, sessions: async_sessionmaker[AsyncSession]
) -> APIRouter:
    box = store.SecretBox(ChannelAccountSettings().secrets_key)
    router = APIRouter(
        prefix="/api/v1/channel-accounts/sms",
        tags=["channel accounts"],
        dependencies=[Depends(bearer_auth(settings))],
    )

    @router.post("/{name}/test", response_model=ConnectionTest)
    async def test(name: str) -> ConnectionTest:
        async with sessions() as session:
            row = await store.account_by_name(session, Channel.SMS.value, name)
        if row is None:
            raise HTTPException(404, f"no sms account {name!r}")
        if not box.available:
            raise HTTPException(503, "TICKET_CORE_SECRETS_KEY is not set")
        secrets = box.readable(row["secrets_encrypted"])
        if secrets is None:
            raise HTTPException(
                503, f"the secrets of sms account {name!r} do not decrypt; set them again"
            )
        values: dict[str, Any] = {k: row[k] for k in ("name", "display_name", "enabled", "config")}
        account = ChannelAccount.model_validate(
            {**values, "channel": Channel.SMS, "secrets": secrets}
        )
        result = await check_connection(account)
        log.info("sms_connection_tested", account=name, ok=result.ok)
        return result

    return router
