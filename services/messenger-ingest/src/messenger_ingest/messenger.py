"""Messenger raw records in, inbound messages and delivery events out.

Per record: parse (pure; an unknown shape raises and is dead-lettered), then resolve
what needs the outside world — media into the blob store, an album item into a part of
the album's first message, a receipt into a delivery event for our outbound id, a
reachability change into Redis. The batch returns (and commits) only after every
produced record was acked.
"""

from __future__ import annotations

import hashlib

from faststream.kafka import KafkaBroker
from helpdesk_common import correlation
from helpdesk_common.broker import publish_many
from helpdesk_common.consuming import Delivery
from helpdesk_common.logs import get_logger
from helpdesk_common.records import DeliveryEvent, InboundMessage, RawWebhook
from helpdesk_common.sent_messages import SentMessageMap
from helpdesk_common.topics import DELIVERY_EVENTS, INBOUND_MESSAGES

from .media import MediaFetcher
from .outcomes import Ignored, Inbound, Parser, Reachability, Receipt
from .state import AlbumIndex, ReachabilityStore

log = get_logger(__name__)


class MessengerHandler:
    def __init__(
        self,
        broker: KafkaBroker,
        parse: Parser,
        *,
        media: MediaFetcher,
        albums: AlbumIndex,
        sent: SentMessageMap,
        reachability: ReachabilityStore,
        producer: str,
    ) -> None:
        self._broker = broker
        self._parse = parse
        self._media = media
        self._albums = albums
        self._sent = sent
        self._reachability = reachability
        self._producer = producer

    async def _inbound(self, raw: RawWebhook, outcome: Inbound) -> InboundMessage:
        message = outcome.message
        update: dict[str, object] = {}
        if outcome.media:
            update["attachments"] = tuple(
                [
                    await self._media.fetch(raw.channel, raw.channel_account, m, raw.received_at)
                    for m in outcome.media
                ]
            )
        if outcome.album and message.thread.message_id:
            first = await self._albums.first_part(outcome.album, message.thread.message_id)
            if first is not None:
                update["part_of"] = first
        return message.model_copy(update=update) if update else message

    async def _receipt(self, raw: RawWebhook, receipt: Receipt) -> DeliveryEvent | None:
        sent = await self._sent.lookup(
            receipt.channel, receipt.account, receipt.provider_message_id
        )
        if sent is None:
            log.info("receipt_for_unknown_message", channel=receipt.channel.value)
            return None
        key = f"{receipt.channel.value}:{receipt.account}:{receipt.provider_message_id}"
        return DeliveryEvent(
            event_id=hashlib.sha256(f"{key}:{receipt.state.value}".encode()).hexdigest()[:32],
            correlation_id=raw.correlation_id,
            outbound_id=sent.outbound_id,
            message_id=sent.message_id,
            state=receipt.state,
            reason=receipt.reason,
            provider_message_id=receipt.provider_message_id,
            occurred_at=receipt.occurred_at,
        )

    async def __call__(self, batch: list[Delivery[RawWebhook]]) -> None:
        messages: list[InboundMessage] = []
        events: list[DeliveryEvent] = []
        for delivery in batch:
            raw = delivery.record
            with correlation.bound(delivery.correlation_id):
                outcome = self._parse(raw)
                if isinstance(outcome, Inbound):
                    messages.append(await self._inbound(raw, outcome))
                elif isinstance(outcome, Receipt):
                    event = await self._receipt(raw, outcome)
                    if event is not None:
                        events.append(event)
                elif isinstance(outcome, Reachability):
                    await self._reachability.record(outcome)
                    log.info(
                        "reachability_changed",
                        channel=raw.channel.value,
                        reachable=outcome.reachable,
                        reason=outcome.reason,
                    )
                elif isinstance(outcome, Ignored):
                    log.info("raw_ignored", channel=raw.channel.value, reason=outcome.reason)
        await publish_many(self._broker, INBOUND_MESSAGES, messages, producer=self._producer)
        await publish_many(self._broker, DELIVERY_EVENTS, events, producer=self._producer)
