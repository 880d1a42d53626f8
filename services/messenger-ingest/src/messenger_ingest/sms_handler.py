"""SMS raw records in, inbound messages and delivery events out.

Per record: the account is looked up (its default country reads national numbers; its
Twilio credentials fetch MMS media, which Twilio may serve only with Basic auth), the
record is parsed (``sms.parse``; unknown shapes are dead-lettered), media go into the
blob store (size-capped; a refused file is recorded as skipped, a network error retries
the batch), receipts find our outbound id through the sent-message map the notifier
writes. The batch returns (and commits) only after everything produced was acked.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import httpx
from faststream.kafka import KafkaBroker
from helpdesk_common import correlation
from helpdesk_common.blobstore import BlobStore
from helpdesk_common.broker import publish_many
from helpdesk_common.channel_accounts import ChannelAccount, ChannelAccountDirectory
from helpdesk_common.consuming import Delivery, TransientError
from helpdesk_common.logs import get_logger
from helpdesk_common.records import (
    AttachmentRef,
    Channel,
    DeliveryEvent,
    InboundMessage,
    RawWebhook,
)
from helpdesk_common.sent_messages import SentMessageMap
from helpdesk_common.sms_providers.accounts import AUTH_TOKEN
from helpdesk_common.topics import DELIVERY_EVENTS, INBOUND_MESSAGES

from . import sms
from .media import skip_after_deadline
from .outcomes import Ignored, Inbound, MediaRef, Receipt

log = get_logger(__name__)


class SmsHandler:
    def __init__(
        self,
        broker: KafkaBroker,
        accounts: ChannelAccountDirectory,
        blobs: BlobStore,
        sent: SentMessageMap,
        *,
        producer: str,
        max_bytes: int,
        timeout_seconds: float = 30.0,
        give_up_after_seconds: float = 900.0,
    ) -> None:
        self._broker = broker
        self._give_up_after = give_up_after_seconds
        self._accounts = accounts
        self._blobs = blobs
        self._sent = sent
        self._producer = producer
        self._max = max_bytes
        self._http = httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=True)

    async def _download(
        self, account: ChannelAccount | None, ref: MediaRef, received_at: datetime
    ) -> AttachmentRef:
        skipped = AttachmentRef(filename=ref.filename, content_type=ref.content_type, size=0)
        try:
            return await self._fetch(account, ref, skipped)
        except TransientError as exc:
            return skip_after_deadline(exc, skipped, received_at, self._give_up_after)

    async def _fetch(
        self, account: ChannelAccount | None, ref: MediaRef, skipped: AttachmentRef
    ) -> AttachmentRef:
        unusable = sms.unusable_media_url(ref.ref)
        if unusable is not None:  # a damaged link: no use retrying it until the deadline
            return skipped.model_copy(update={"skipped_reason": unusable})
        sid = account.config.get("account_sid") if account else None
        token = account.secret(AUTH_TOKEN) if account else None
        auth = (str(sid), token) if sid and token else None
        try:
            async with self._http.stream("GET", ref.ref, auth=auth) as response:
                if response.status_code == 429 or response.status_code >= 500:
                    raise TransientError(f"mms media answered {response.status_code}")
                if response.status_code != 200:
                    reason = f"media download answered {response.status_code}"
                    return skipped.model_copy(update={"skipped_reason": reason})
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self._max:
                        reason = f"larger than {self._max} bytes"
                        return skipped.model_copy(update={"skipped_reason": reason})
                    chunks.append(chunk)
                data = b"".join(chunks)
        except httpx.HTTPError as exc:
            raise TransientError(f"mms media download: {type(exc).__name__}") from exc
        content_type = response.headers.get("content-type", ref.content_type).split(";")[0]
        blob = await self._blobs.put(data, content_type or ref.content_type)
        return AttachmentRef(
            filename=ref.filename, content_type=ref.content_type, size=len(data), blob=blob
        )

    async def _inbound(
        self, account: ChannelAccount | None, outcome: Inbound, received_at: datetime
    ) -> InboundMessage:
        if not outcome.media:
            return outcome.message
        files = tuple([await self._download(account, m, received_at) for m in outcome.media])
        return outcome.message.model_copy(update={"attachments": files})

    async def _receipt(self, raw: RawWebhook, receipt: Receipt) -> DeliveryEvent | None:
        sent = await self._sent.lookup(Channel.SMS, receipt.account, receipt.provider_message_id)
        if sent is None:
            log.info("receipt_for_unknown_message", channel="sms", account=receipt.account)
            return None
        key = f"sms:{receipt.account}:{receipt.provider_message_id}:{receipt.state.value}"
        return DeliveryEvent(
            event_id=hashlib.sha256(key.encode()).hexdigest()[:32],
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
                account = await self._accounts.get(Channel.SMS, raw.channel_account)
                country = str((account.config if account else {}).get("default_country") or "RU")
                for outcome in sms.parse(raw, country):
                    if isinstance(outcome, Inbound):
                        messages.append(await self._inbound(account, outcome, raw.received_at))
                    elif isinstance(outcome, Receipt):
                        event = await self._receipt(raw, outcome)
                        if event is not None:
                            events.append(event)
                    elif isinstance(outcome, Ignored):
                        log.info("raw_ignored", channel="sms", reason=outcome.reason)
        await publish_many(self._broker, INBOUND_MESSAGES, messages, producer=self._producer)
        await publish_many(self._broker, DELIVERY_EVENTS, events, producer=self._producer)

    async def aclose(self) -> None:
        await self._http.aclose()
