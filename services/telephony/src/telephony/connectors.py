"""One Simple Calls connection per enabled ``simple_calls`` phone account, following the
accounts in ticket-core: every ``TELEPHONY_ACCOUNT_REFRESH_SECONDS`` the list is read
again; new accounts are connected, removed or disabled ones closed, changed ones
(address, password, settings) reconnected."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json

from helpdesk_common.channel_accounts import ChannelAccount, ChannelAccountDirectory
from helpdesk_common.consuming import TransientError
from helpdesk_common.logs import get_logger
from helpdesk_common.phone_accounts import PASSWORD, PhoneAccountConfig
from helpdesk_common.records import Channel
from pydantic import ValidationError

from .settings import TelephonySettings
from .simple_calls_client import SimpleCallsConnection
from .sink import CallSink

log = get_logger(__name__)


def _fingerprint(account: ChannelAccount) -> str:
    secret = account.secret(PASSWORD) or ""
    data = json.dumps([account.config, hashlib.sha256(secret.encode()).hexdigest()], sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()


class Connectors:
    def __init__(
        self, settings: TelephonySettings, accounts: ChannelAccountDirectory, sink: CallSink
    ) -> None:
        self._settings = settings
        self._accounts = accounts
        self._sink = sink
        self._running: dict[str, tuple[str, SimpleCallsConnection, asyncio.Task[None]]] = {}
        self._task: asyncio.Task[None] | None = None

    def connection(self, account: str) -> SimpleCallsConnection | None:
        found = self._running.get(account)
        return found[1] if found else None

    def _wanted(self, accounts: list[ChannelAccount]) -> dict[str, ChannelAccount]:
        wanted: dict[str, ChannelAccount] = {}
        for account in accounts:
            if not account.enabled or account.config.get("kind") != "simple_calls":
                continue
            if not account.secret(PASSWORD):
                log.warning("simple_calls_account_without_password", account=account.name)
                continue
            wanted[account.name] = account
        return wanted

    async def refresh(self) -> None:
        wanted = self._wanted(await self._accounts.list_accounts(Channel.PHONE))
        for name in list(self._running):
            current = self._running[name]
            if name not in wanted or _fingerprint(wanted[name]) != current[0]:
                await self._stop(name)
        for name, account in wanted.items():
            if name in self._running:
                continue
            try:
                config = PhoneAccountConfig.model_validate(account.config)
            except ValidationError:
                log.warning("simple_calls_account_invalid", account=name)
                continue
            connection = SimpleCallsConnection(
                name,
                config,
                account.require_secret(PASSWORD),
                self._sink,
                initial_backoff=self._settings.reconnect_initial_seconds,
                max_backoff=self._settings.reconnect_max_seconds,
            )
            task = asyncio.create_task(connection.run(), name=f"simple-calls:{name}")
            self._running[name] = (_fingerprint(account), connection, task)
            log.info("simple_calls_connector_started", account=name)

    async def _stop(self, name: str) -> None:
        _, _, task = self._running.pop(name)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        log.info("simple_calls_connector_stopped", account=name)

    async def _loop(self) -> None:
        while True:
            try:
                await self.refresh()
            except TransientError as exc:
                log.warning("phone_accounts_unavailable", error=str(exc)[:200])
            await asyncio.sleep(self._settings.account_refresh_seconds)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for name in list(self._running):
            await self._stop(name)
