"""Broker entry point: PBX webhook records (``raw.telephony.v1``) in, call events out.

An unknown account or event shape raises and the record is dead-lettered; the batch
commits only after its call events were acked (and ringing pushes sent)."""

from __future__ import annotations

from helpdesk_common import correlation
from helpdesk_common.channel_accounts import ChannelAccountDirectory
from helpdesk_common.consuming import Delivery
from helpdesk_common.phone_accounts import PhoneAccountConfig
from helpdesk_common.records import Channel, RawWebhook

from .pbx import PbxCalls, UnsupportedPbxEvent
from .sink import CallSink


class PbxWebhookHandler:
    def __init__(self, accounts: ChannelAccountDirectory, calls: PbxCalls, sink: CallSink) -> None:
        self._accounts = accounts
        self._calls = calls
        self._sink = sink

    async def __call__(self, batch: list[Delivery[RawWebhook]]) -> None:
        for delivery in batch:
            raw = delivery.record
            with correlation.bound(delivery.correlation_id):
                account = await self._accounts.get(Channel.PHONE, raw.channel_account)
                if account is None:
                    raise UnsupportedPbxEvent(f"no phone account {raw.channel_account!r}")
                config = PhoneAccountConfig.model_validate(account.config)
                event = await self._calls.to_call_event(raw, config)
                await self._sink.emit([event], config)
