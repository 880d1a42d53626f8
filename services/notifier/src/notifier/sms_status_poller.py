"""Delivery statuses of SMS whose provider reports only when asked (SMSC.ru, SMSAero).

Every ``NOTIFIER_SMS_POLL_INTERVAL_SECONDS`` each replica claims the due entries of the
poll set (``sms_log``), asks the provider, publishes a delivery event when the state
changed, and puts the entry back unless the state is final or the SMS is older than
``NOTIFIER_SMS_POLL_MAX_AGE_SECONDS``. A provider that cannot answer now is asked again
next round.
"""

from __future__ import annotations

import asyncio
import hashlib
import time

from faststream.kafka import KafkaBroker
from helpdesk_common.broker import publish
from helpdesk_common.channel_accounts import ChannelAccountDirectory
from helpdesk_common.consuming import TransientError
from helpdesk_common.logs import get_logger
from helpdesk_common.records import Channel, DeliveryEvent
from helpdesk_common.sms_providers import ProviderRefused
from helpdesk_common.topics import DELIVERY_EVENTS

from .settings import NotifierSettings
from .sms_log import PollEntry, SmsLog
from .sms_sender import SmsProviders

log = get_logger(__name__)


class SmsStatusPoller:
    def __init__(
        self,
        settings: NotifierSettings,
        broker: KafkaBroker,
        accounts: ChannelAccountDirectory,
        providers: SmsProviders,
        sms_log: SmsLog,
    ) -> None:
        self._settings = settings
        self._broker = broker
        self._accounts = accounts
        self._providers = providers
        self._log = sms_log
        self._task: asyncio.Task[None] | None = None

    async def _check(self, entry: PollEntry) -> None:
        account = await self._accounts.get(Channel.SMS, entry.account)
        if account is None:
            return  # the account is gone: nothing can be asked any more
        provider = await self._providers.for_account(account)
        report = await provider.status(entry.provider_message_id, entry.to)
        if report.state is not None and report.state.value != entry.last_state:
            key = f"sms:{entry.account}:{entry.provider_message_id}:{report.state.value}"
            event = DeliveryEvent(
                event_id=hashlib.sha256(key.encode()).hexdigest()[:32],
                outbound_id=entry.outbound_id,
                message_id=entry.message_id,
                state=report.state,
                reason=report.reason,
                provider_message_id=entry.provider_message_id,
            )
            await publish(
                self._broker, DELIVERY_EVENTS, event, producer=self._settings.service_name
            )
            entry = PollEntry(**{**entry.__dict__, "last_state": report.state.value})
        too_old = time.time() - entry.since > self._settings.sms_poll_max_age_seconds
        if not report.final and not too_old:
            await self._log.schedule(entry, time.time() + self._settings.sms_poll_interval_seconds)

    async def poll_once(self) -> int:
        entries = await self._log.claim_due(100)
        for entry in entries:
            try:
                await self._check(entry)
            except (TransientError, ProviderRefused, OSError) as exc:
                log.warning("sms_status_poll_failed", account=entry.account, error=str(exc)[:200])
                retry_at = time.time() + self._settings.sms_poll_interval_seconds
                await self._log.schedule(entry, retry_at)
        return len(entries)

    async def _run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except Exception as exc:  # Redis or the broker away: next round
                log.warning("sms_status_poll_round_failed", error=str(exc)[:200])
            await asyncio.sleep(self._settings.sms_poll_interval_seconds)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
