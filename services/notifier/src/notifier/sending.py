"""Outbound messages are sent on their channel, once, and reported as delivery events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from faststream.kafka import KafkaBroker
from helpdesk_common import correlation
from helpdesk_common.blobstore import BlobStore
from helpdesk_common.broker import publish
from helpdesk_common.consuming import Delivery
from helpdesk_common.logs import get_logger
from helpdesk_common.records import Channel, DeliveryEvent, DeliveryState, OutboundMessage
from helpdesk_common.topics import DELIVERY_EVENTS

from .email_compose import compose
from .rate_limits import RateLimited
from .send_log import SendLog, SendState
from .settings import NotifierSettings
from .smtp_sender import PermanentSendError, SmtpSender

log = get_logger(__name__)


@dataclass(frozen=True)
class Sent:
    """What a channel reports after sending: the provider's id and facts for the message."""

    provider_message_id: str | None
    details: dict[str, str] = field(default_factory=dict)


ChannelSender = Callable[[OutboundMessage], Awaitable[str | Sent | None]]


class EmailChannel:
    def __init__(self, settings: NotifierSettings, smtp: SmtpSender, blobs: BlobStore) -> None:
        self._settings = settings
        self._smtp = smtp
        self._blobs = blobs

    async def __call__(self, outbound: OutboundMessage) -> str | None:
        files = [
            (a.filename, a.content_type, await self._blobs.get(a.blob.sha256))
            for a in outbound.attachments
            if a.blob is not None
        ]
        message = compose(outbound, self._settings, files)
        await self._smtp.send(message)
        return str(message["Message-ID"])


class OutboundSender:
    """Send each outbound record once; transient errors propagate (the batch is retried)."""

    def __init__(
        self,
        broker: KafkaBroker,
        send_log: SendLog,
        channels: dict[Channel, ChannelSender],
        producer: str,
    ) -> None:
        self._broker = broker
        self._log = send_log
        self._channels = channels
        self._producer = producer

    async def _report(
        self,
        outbound: OutboundMessage,
        state: DeliveryState,
        *,
        reason: str | None = None,
        sent: Sent | None = None,
    ) -> None:
        event = DeliveryEvent(
            outbound_id=outbound.outbound_id,
            message_id=outbound.message_id,
            state=state,
            reason=reason,
            provider_message_id=sent.provider_message_id if sent else None,
            details=sent.details if sent else {},
            correlation_id=outbound.correlation_id,
        )
        await publish(self._broker, DELIVERY_EVENTS, event, producer=self._producer)

    async def send(self, outbound: OutboundMessage) -> None:
        done = await self._log.state(outbound.outbound_id)
        if done is SendState.SENT:
            await self._report(outbound, DeliveryState.SENT)  # the report may have been lost
            return
        if done is SendState.FAILED:
            return
        if done is SendState.SENDING:
            log.warning("resending_after_interrupted_attempt", outbound_id=outbound.outbound_id)
        channel = self._channels.get(outbound.channel)
        if channel is None:
            await self._fail(outbound, f"sending on {outbound.channel.value} is not supported yet")
            return
        await self._log.record(outbound.outbound_id, SendState.SENDING)
        try:
            result = await channel(outbound)
        except PermanentSendError as exc:
            await self._fail(outbound, str(exc))
            return
        sent = result if isinstance(result, Sent) else Sent(result)
        await self._log.record(outbound.outbound_id, SendState.SENT)
        await self._report(outbound, DeliveryState.SENT, sent=sent)
        log.info("outbound_sent", channel=outbound.channel.value, outbound_id=outbound.outbound_id)

    async def _fail(self, outbound: OutboundMessage, reason: str) -> None:
        await self._log.record(outbound.outbound_id, SendState.FAILED)
        await self._report(outbound, DeliveryState.FAILED, reason=reason[:1000])
        log.warning("outbound_failed", channel=outbound.channel.value, reason=reason[:300])

    async def __call__(self, batch: list[Delivery[OutboundMessage]]) -> None:
        """Send in order; a ticket held by a rate limit is skipped (with its later records,
        keeping its order) so the other tickets go out, then the batch is retried."""
        held: set[str] = set()
        limited: RateLimited | None = None
        for delivery in batch:
            key = delivery.record.partition_key()
            if key in held:
                continue
            with correlation.bound(delivery.correlation_id):
                try:
                    await self.send(delivery.record)
                except RateLimited as exc:
                    held.add(key)
                    limited = limited or exc
        if limited is not None:
            raise limited
