"""Provider rate limits: Redis token buckets shared by replicas (real Redis), and the
Telegram sender holding a chat to its bucket (fake Telegram API)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from devstack.test_system import TELEGRAM_TOKEN, Fakes
from helpdesk_common.blobstore import FilesystemBlobStore
from helpdesk_common.broker import make_broker
from helpdesk_common.channel_accounts import ChannelAccount
from helpdesk_common.consuming import Delivery, TransientError
from helpdesk_common.records import Channel, OutboundMessage
from helpdesk_common.sent_messages import SentMessageMap
from notifier.messenger_parts import PartLog
from notifier.rate_limits import Limit, RateLimited, RateLimiter
from notifier.send_log import SendLog
from notifier.sending import OutboundSender
from notifier.settings import NotifierSettings
from notifier.telegram_sender import TelegramChannel
from pydantic import SecretStr
from redis.asyncio import Redis


@pytest.fixture
async def redis(infra: Any) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url)
    yield client
    await client.aclose()


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_replicas_share_a_bucket(redis: Redis) -> None:
    one, two = RateLimiter(redis, 5), RateLimiter(redis, 5)  # two notifier replicas
    bucket = [Limit(name("chat"), rate=1, burst=2)]
    assert await one.try_take(bucket) == 0
    assert await two.try_take(bucket) == 0
    wait = await two.try_take(bucket)
    assert 0 < wait <= 1.0
    assert 0 < await one.try_take(bucket) <= 1.0  # a refusal takes nothing, the wait stays


async def test_several_buckets_are_taken_together_or_not_at_all(redis: Redis) -> None:
    limiter = RateLimiter(redis, 5)
    bot = Limit(name("bot"), rate=0.001, burst=1)  # one token, then none for ~1000 s
    chat_a, chat_b = Limit(name("a"), rate=1), Limit(name("b"), rate=1)
    assert await limiter.try_take([chat_a, bot]) == 0
    assert await limiter.try_take([chat_b, bot]) > 100  # the bot's bucket is empty
    # chat b kept its token: with another bot it goes at once
    assert await limiter.try_take([chat_b, Limit(name("bot"), rate=1)]) == 0


async def test_acquire_waits_a_little_then_hands_over_to_the_batch_retry(redis: Redis) -> None:
    quick = [Limit(name("quick"), rate=50, burst=1)]
    limiter = RateLimiter(redis, max_wait_seconds=2)
    await limiter.acquire(quick)
    await limiter.acquire(quick)  # waited for the next token (about 20 ms)
    slow = [Limit(name("slow"), rate=0.01, burst=1)]
    await limiter.acquire(slow)
    with pytest.raises(TransientError, match="rate limited"):
        await limiter.acquire(slow)  # 100 s to the next token: more than it may wait


class Directory:
    async def get_enabled(self, channel: Channel, account: str) -> ChannelAccount | None:
        secrets = {"token": SecretStr(TELEGRAM_TOKEN)}
        return ChannelAccount(channel=channel, name=account, secrets=secrets)


async def test_telegram_holds_a_chat_to_its_bucket_and_lets_other_chats_go(
    redis: Redis, fakes: Fakes, tmp_path: Path
) -> None:
    settings = NotifierSettings(
        telegram_api_base_url=fakes.telegram.base_url, telegram_chat_rate=0.01
    )
    channel = TelegramChannel(
        settings,
        Directory(),  # type: ignore[arg-type]
        FilesystemBlobStore(tmp_path),
        PartLog(redis, 600),
        SentMessageMap(redis),
        RateLimiter(redis, max_wait_seconds=0.5),
    )
    account, busy, other = name("bot"), str(uuid.uuid4().int % 10**9), str(uuid.uuid4().int % 10**9)

    def message(chat: str, text: str) -> OutboundMessage:
        return OutboundMessage(
            channel=Channel.TELEGRAM, channel_account=account, recipient=chat, text=text
        )

    try:
        await channel(message(busy, "first"))
        with pytest.raises(TransientError, match="rate limited"):
            await channel(message(busy, "second"))  # the chat's next token is 100 s away
        await channel(message(other, "elsewhere"))
    finally:
        await channel.aclose()
    texts = {
        chat: [c.params["text"] for c in fakes.telegram.calls_of("sendMessage", chat_id=chat)]
        for chat in (busy, other)
    }
    assert texts == {busy: ["first"], other: ["elsewhere"]}


@dataclass
class Raw:
    topic: str = "outbound.messages.v1"
    partition: int = 0
    offset: int = 0
    key: bytes | None = None
    value: bytes | None = None
    headers: Sequence[tuple[str, bytes]] = ()


async def test_a_rate_limited_ticket_does_not_hold_up_the_others_in_its_batch(
    redis: Redis, fakes: Fakes, infra: Any, tmp_path: Path
) -> None:
    settings = NotifierSettings(
        telegram_api_base_url=fakes.telegram.base_url,
        telegram_chat_rate=0.01,
        kafka_bootstrap_servers=infra.kafka,
    )
    channel = TelegramChannel(
        settings,
        Directory(),  # type: ignore[arg-type]
        FilesystemBlobStore(tmp_path),
        PartLog(redis, 600),
        SentMessageMap(redis),
        RateLimiter(redis, max_wait_seconds=0.2),
    )
    broker = make_broker(settings)
    await broker.connect()
    sender = OutboundSender(broker, SendLog(redis, 600), {Channel.TELEGRAM: channel}, "test")
    account = name("bot")
    busy, other = str(uuid.uuid4().int % 10**9), str(uuid.uuid4().int % 10**9)

    def delivery(ticket_id: int, chat: str, text: str) -> Delivery[OutboundMessage]:
        record = OutboundMessage(
            ticket_id=ticket_id,
            channel=Channel.TELEGRAM,
            channel_account=account,
            recipient=chat,
            text=text,
        )
        return Delivery(record, Raw())

    batch = [
        delivery(1, busy, "one"),
        delivery(1, busy, "two"),  # the chat has no token left: ticket 1 waits
        delivery(1, busy, "three"),  # behind "two", in order
        delivery(2, other, "four"),  # another ticket goes out meanwhile
    ]
    try:
        with pytest.raises(RateLimited):
            await sender(batch)
    finally:
        await channel.aclose()
        await broker.stop()
    sent = {
        chat: [c.params["text"] for c in fakes.telegram.calls_of("sendMessage", chat_id=chat)]
        for chat in (busy, other)
    }
    assert sent == {busy: ["one"], other: ["four"]}
