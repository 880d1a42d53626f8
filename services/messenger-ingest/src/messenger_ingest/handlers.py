"""Broker entry points: raw channel records in, inbound messages out."""

from __future__ import annotations

from collections.abc import Callable

from faststream.kafka import KafkaBroker
from helpdesk_common.broker import publish_many
from helpdesk_common.consuming import Delivery
from helpdesk_common.records import InboundMessage, RawWebhook
from helpdesk_common.topics import INBOUND_MESSAGES

Normaliser = Callable[[RawWebhook], InboundMessage]


class RawHandler:
    """Normalise a batch and publish it; returns (so the batch commits) only after the acks.

    A record that cannot be normalised raises, and the batch machinery dead-letters it.
    """

    def __init__(self, broker: KafkaBroker, normalise: Normaliser, producer: str) -> None:
        self._broker = broker
        self._normalise = normalise
        self._producer = producer

    async def __call__(self, batch: list[Delivery[RawWebhook]]) -> None:
        messages = [self._normalise(d.record) for d in batch]
        await publish_many(self._broker, INBOUND_MESSAGES, messages, producer=self._producer)
