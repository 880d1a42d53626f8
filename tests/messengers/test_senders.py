"""The notifier's messenger senders in-process against the fake APIs: attachments."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from devstack.test_system import TELEGRAM_TOKEN, VIBER_TOKEN, VK_TOKEN, Fakes
from helpdesk_common.blobstore import FilesystemBlobStore
from helpdesk_common.channel_accounts import ChannelAccount
from helpdesk_common.media_links import MediaLinks
from helpdesk_common.records import AttachmentRef, Channel, OutboundMessage
from helpdesk_common.sent_messages import SentMessageMap
from notifier.messenger_parts import PartLog
from notifier.settings import NotifierSettings
from notifier.smtp_sender import PermanentSendError
from notifier.telegram_sender import TelegramChannel
from notifier.viber_sender import ViberChannel
from notifier.vk_sender import VkChannel
from redis.asyncio import Redis


class Directory:
    """Stands in for ticket-core's lookup (the API itself is tested end to end)."""

    async def get_enabled(self, channel: Channel, name: str) -> ChannelAccount | None:
        token = {
            Channel.TELEGRAM: TELEGRAM_TOKEN,
            Channel.VIBER: VIBER_TOKEN,
            Channel.VK: VK_TOKEN,
        }[channel]
        return ChannelAccount(channel=channel, name=name, secrets={"token": token})


@pytest.fixture
async def parts(infra: Any, tmp_path: Path) -> AsyncIterator[tuple[Any, ...]]:
    redis = Redis.from_url(infra.redis_url)
    blobs = FilesystemBlobStore(tmp_path)
    yield redis, blobs, PartLog(redis, 600), SentMessageMap(redis)
    await redis.aclose()


def settings(fakes: Fakes) -> NotifierSettings:
    return NotifierSettings(
        telegram_api_base_url=fakes.telegram.base_url,
        viber_api_base_url=f"{fakes.viber.base_url}/pa",
        vk_api_base_url=fakes.vk.base_url,
        vk_rps_delay=0,
    )


async def outbound(blobs: FilesystemBlobStore, channel: Channel, recipient: str) -> OutboundMessage:
    photo = await blobs.put(b"png-bytes", "image/png")
    doc = await blobs.put(b"%PDF-1.4", "application/pdf")
    return OutboundMessage(
        channel=channel,
        channel_account="acct",
        recipient=recipient,
        text="See attached",
        attachments=(
            AttachmentRef(filename="shot.png", content_type="image/png", size=9, blob=photo),
            AttachmentRef(filename="act.pdf", content_type="application/pdf", size=8, blob=doc),
        ),
    )


async def test_telegram_text_photo_document(fakes: Fakes, parts: tuple[Any, ...]) -> None:
    _, blobs, log, sent = parts
    channel = TelegramChannel(settings(fakes), Directory(), blobs, log, sent)  # type: ignore[arg-type]
    message = await outbound(blobs, Channel.TELEGRAM, "31337")
    first = await channel(message)
    await channel(message)  # a redelivery sends nothing again
    await channel.aclose()
    assert [c.method for c in fakes.telegram.calls if c.params.get("chat_id") == "31337"] == [
        "sendMessage",
        "sendPhoto",
        "sendDocument",
    ]
    assert fakes.telegram.calls_of("sendPhoto", chat_id="31337")[0].files
    assert first is not None and first.startswith("31337:")
    fakes.telegram.blocked_chats.add("31338")
    with pytest.raises(PermanentSendError, match="blocked"):
        await channel(await outbound(blobs, Channel.TELEGRAM, "31338"))


async def test_viber_picture_and_file_by_signed_link(fakes: Fakes, parts: tuple[Any, ...]) -> None:
    _, blobs, log, sent = parts
    links = MediaLinks("k", "https://gw.example")
    channel = ViberChannel(settings(fakes), Directory(), log, sent, links)  # type: ignore[arg-type]
    await channel(await outbound(blobs, Channel.VIBER, "vb-att=="))
    await channel.aclose()
    calls = fakes.viber.calls_of("send_message", receiver="vb-att==")
    assert [c.params["type"] for c in calls] == ["text", "picture", "file"]
    assert calls[1].params["media"].startswith("https://gw.example/media/")
    assert calls[2].params["file_name"] == "act.pdf" and calls[2].params["size"] == 8


async def test_vk_uploads_photo_and_document(fakes: Fakes, parts: tuple[Any, ...]) -> None:
    _, blobs, log, sent = parts
    channel = VkChannel(settings(fakes), Directory(), blobs, log, sent)  # type: ignore[arg-type]
    await channel(await outbound(blobs, Channel.VK, "4242"))
    calls = fakes.vk.calls_of("messages.send", peer_id="4242")
    assert [bool(c.params.get("message")) for c in calls] == [True, False, False]
    assert calls[1].params["attachment"].startswith("photo-77_")
    assert calls[2].params["attachment"].startswith("doc-77_")
    assert len({c.params["random_id"] for c in calls}) == 3
