"""The topic catalogue: every topic, its record type and its partition count.

Partitions are how a consumer group scales: a topic with N partitions feeds at most N
replicas. Dead-letter topics (``<topic>.dlq``) have one partition: they are read by people.
"""

from __future__ import annotations

from dataclasses import dataclass

from .records import (
    CallEvent,
    Channel,
    DeliveryEvent,
    InboundMessage,
    OutboundMessage,
    RawWebhook,
    Record,
    TicketEvent,
)

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class Topic:
    name: str
    record: type[Record]
    partitions: int = 8

    @property
    def dlq(self) -> str:
        return self.name + DLQ_SUFFIX


INBOUND_MESSAGES = Topic("inbound.messages.v1", InboundMessage)
INBOUND_CALLS = Topic("inbound.calls.v1", CallEvent)
TICKET_EVENTS = Topic("ticket.events.v1", TicketEvent)
OUTBOUND_MESSAGES = Topic("outbound.messages.v1", OutboundMessage)
DELIVERY_EVENTS = Topic("delivery.events.v1", DeliveryEvent)

RAW_CHANNELS = (
    Channel.WEBFORM,
    Channel.TELEGRAM,
    Channel.VIBER,
    Channel.VK,
    Channel.SMS,
    Channel.PHONE,
)


def raw_topic(channel: Channel) -> Topic:
    """``raw.<channel>.v1``; phone webhooks use ``raw.telephony.v1``."""
    name = "telephony" if channel is Channel.PHONE else channel.value
    return Topic(f"raw.{name}.v1", RawWebhook)


ALL_TOPICS: tuple[Topic, ...] = (
    INBOUND_MESSAGES,
    INBOUND_CALLS,
    TICKET_EVENTS,
    OUTBOUND_MESSAGES,
    DELIVERY_EVENTS,
    *(raw_topic(c) for c in RAW_CHANNELS),
)


def all_topic_specs() -> dict[str, int]:
    """Every topic name to create, with its partition count (dead-letter topics included)."""
    specs: dict[str, int] = {}
    for topic in ALL_TOPICS:
        specs[topic.name] = topic.partitions
        specs[topic.dlq] = 1
    return specs
