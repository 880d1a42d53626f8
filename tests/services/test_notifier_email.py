"""The notifier's email channel against a real SMTP server (aiosmtpd) and the real broker."""

from __future__ import annotations

import asyncio
import email
import email.policy
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from devstack.probes import eventually, read_topic
from devstack.processes import free_port
from faststream.kafka import KafkaBroker
from helpdesk_common.blobstore import FilesystemBlobStore
from helpdesk_common.broker import make_broker
from helpdesk_common.consuming import TransientError
from helpdesk_common.email_markers import REPLY_SEPARATOR
from helpdesk_common.records import AttachmentRef, Channel, DeliveryEvent, OutboundMessage
from helpdesk_common.topics import DELIVERY_EVENTS
from notifier.email_compose import compose
from notifier.send_log import SendLog
from notifier.sending import EmailChannel, OutboundSender
from notifier.settings import NotifierSettings
from notifier.smtp_sender import SmtpSender
from redis.asyncio import Redis


@dataclass
class Sink:
    """Accepts mail; refuses ``bounce-*`` recipients for good and defers ``later-*`` ones."""

    received: list[EmailMessage] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("bounce-"):
            return "550 5.1.1 no such user"
        if address.startswith("later-"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(parsed)  # type: ignore[arg-type]
        return "250 Message accepted"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Sink, Controller]]:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, controller
    controller.stop()


@pytest.fixture(scope="module")
def settings(smtp: tuple[Sink, Controller], infra, tmp_path_factory) -> NotifierSettings:  # type: ignore[no-untyped-def]
    return NotifierSettings(
        smtp_host="127.0.0.1",
        smtp_port=smtp[1].port,
        kafka_bootstrap_servers=infra.kafka,
        redis_url=infra.redis_url,
        blob_dir=str(tmp_path_factory.mktemp("blobs")),
        email_from="Acme Support <support@acme.test>",
        smtp_timeout_seconds=3,
    )


@pytest.fixture(scope="module")
async def sender(
    settings: NotifierSettings,
) -> AsyncIterator[tuple[OutboundSender, FilesystemBlobStore]]:
    broker: KafkaBroker = make_broker(settings)
    await broker.connect()
    redis = Redis.from_url(settings.redis_url)
    blobs = FilesystemBlobStore(settings.blob_dir)
    channel = EmailChannel(settings, SmtpSender(settings), blobs)
    yield OutboundSender(broker, SendLog(redis, 3600), {Channel.EMAIL: channel}, "test"), blobs
    await broker.stop()
    await redis.aclose()


def outbound(recipient: str, **kw: Any) -> OutboundMessage:
    return OutboundMessage(
        ticket_id=7,
        message_id=70,
        channel=Channel.EMAIL,
        channel_account="support",
        recipient=recipient,
        subject="Re: Printer [#1007]",
        text="It is fixed.",
        email_message_id=f"<{uuid.uuid4().hex}.t1007@acme.test>",
        **kw,
    )


async def delivery_events(infra, outbound_id: str) -> list[DeliveryEvent]:  # type: ignore[no-untyped-def]
    records = await read_topic(infra.kafka, DELIVERY_EVENTS.name, timeout=2)
    events = [DeliveryEvent.model_validate_json(r.value) for r in records]
    return [e for e in events if e.outbound_id == outbound_id]


def received_by(sink: Sink, address: str) -> list[EmailMessage]:
    return [m for m in sink.received if m["To"] == address]


def test_composed_mail_threads_and_carries_the_separator(settings: NotifierSettings) -> None:
    record = outbound(
        "ann@example.com",
        in_reply_to="<c2@client>",
        references=("<c1@client>", "<c2@client>"),
        html="<p>It is <b>fixed</b>.</p>",
        automatic=True,
    )
    msg = compose(record, settings, [("report.pdf", "application/pdf", b"%PDF-1.4")])
    assert msg["Message-ID"] == record.email_message_id
    assert (msg["In-Reply-To"], msg["References"]) == ("<c2@client>", "<c1@client> <c2@client>")
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["From"] == "Acme Support <support@acme.test>"
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None and plain.get_content().startswith(REPLY_SEPARATOR)
    assert html is not None and "<b>fixed</b>" in html.get_content()
    assert [a.get_filename() for a in msg.iter_attachments()] == ["report.pdf"]


async def test_sent_once_even_when_delivered_twice(sender, smtp, infra) -> None:  # type: ignore[no-untyped-def]
    send, blobs = sender
    sink, _ = smtp
    address = f"{uuid.uuid4().hex[:8]}@example.com"
    ref = await blobs.put(b"invoice body", "text/plain")
    record = outbound(
        address,
        attachments=(
            AttachmentRef(filename="invoice.txt", content_type="text/plain", size=12, blob=ref),
        ),
    )
    await send.send(record)
    await send.send(record)  # redelivered
    mails = received_by(sink, address)
    assert len(mails) == 1
    assert mails[0]["Message-ID"] == record.email_message_id
    assert [a.get_content() for a in mails[0].iter_attachments()] == ["invoice body"]
    events = await eventually(
        lambda: delivery_events(infra, record.outbound_id), lambda e: len(e) >= 1, 30, "sent"
    )
    assert {e.state.value for e in events} == {"sent"}
    assert events[0].message_id == 70


async def test_refused_recipient_is_a_failed_delivery_not_retried(sender, smtp, infra) -> None:  # type: ignore[no-untyped-def]
    send, _ = sender
    record = outbound(f"bounce-{uuid.uuid4().hex[:6]}@example.com")
    await send.send(record)
    await send.send(record)
    events = await eventually(
        lambda: delivery_events(infra, record.outbound_id), lambda e: len(e) >= 1, 30, "failed"
    )
    assert [e.state.value for e in events] == ["failed"]
    assert "550" in (events[0].reason or "")


async def test_deferral_and_an_unreachable_server_are_transient(sender, smtp, settings) -> None:  # type: ignore[no-untyped-def]
    send, _ = sender
    sink, controller = smtp
    with pytest.raises(TransientError, match="451"):
        await send.send(outbound(f"later-{uuid.uuid4().hex[:6]}@example.com"))

    address = f"{uuid.uuid4().hex[:8]}@example.com"
    record = outbound(address)
    controller.stop()
    try:
        with pytest.raises(TransientError, match="unavailable"):
            await send.send(record)
    finally:
        controller.loop = asyncio.new_event_loop()  # a stopped controller closed its loop
        controller.start()
    await send.send(record)  # the batch is retried once the server is back: sent, once
    assert len(received_by(sink, address)) == 1


async def test_channels_without_a_sender_fail_with_a_reason(sender, infra) -> None:  # type: ignore[no-untyped-def]
    send, _ = sender
    record = OutboundMessage(
        ticket_id=1, channel=Channel.VIBER, channel_account="bot", recipient="u1", text="hi"
    )
    await send.send(record)
    events = await eventually(
        lambda: delivery_events(infra, record.outbound_id), lambda e: len(e) >= 1, 30, "failed"
    )
    assert events[0].state.value == "failed" and "not supported" in (events[0].reason or "")
