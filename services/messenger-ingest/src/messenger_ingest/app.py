"""messenger-ingest wiring: one batch subscription per raw channel topic it normalises.

Each topic has its own consumer group (``<consumer_group>.<channel>``): five subscribers in
one group made every (re)start a chain of group rebalances that paused all channels.
"""

from __future__ import annotations

from fastapi import FastAPI
from helpdesk_common import logs, redis_client
from helpdesk_common.blobstore import make_blob_store
from helpdesk_common.broker import make_broker
from helpdesk_common.channel_accounts import ChannelAccountDirectory
from helpdesk_common.consuming import subscribe_batches
from helpdesk_common.health import Readiness, redis_check
from helpdesk_common.records import Channel
from helpdesk_common.sent_messages import SentMessageMap
from helpdesk_common.service import build_app
from helpdesk_common.topics import raw_topic

from . import telegram, viber, vk, webform
from .handlers import Normaliser, RawHandler
from .media import MediaFetcher
from .messenger import MessengerHandler
from .outcomes import Parser
from .settings import MessengerIngestSettings
from .sms_handler import SmsHandler
from .state import AlbumIndex, ReachabilityStore

NORMALISERS: dict[Channel, Normaliser] = {
    Channel.WEBFORM: webform.normalise,
}
MESSENGERS: dict[Channel, Parser] = {
    Channel.TELEGRAM: telegram.parse,
    Channel.VIBER: viber.parse,
    Channel.VK: vk.parse,
}


def create_app(settings: MessengerIngestSettings | None = None) -> FastAPI:
    settings = settings or MessengerIngestSettings()
    logs.configure(settings.service_name, settings.log_level)
    broker = make_broker(settings)
    for channel, normalise in NORMALISERS.items():
        subscribe_batches(
            broker,
            raw_topic(channel),
            group_id=f"{settings.consumer_group}.{channel.value}",
            handler=RawHandler(broker, normalise, settings.service_name),
            settings=settings,
        )
    redis = redis_client.connect(settings.redis_url)
    accounts = ChannelAccountDirectory(
        settings.ticket_core_url,
        settings.internal_token,
        ttl_seconds=settings.account_cache_ttl_seconds,
    )
    media = MediaFetcher(
        make_blob_store(settings),
        accounts,
        telegram_api_base_url=settings.telegram_api_base_url,
        max_bytes=settings.max_media_bytes,
        timeout_seconds=settings.media_timeout_seconds,
        give_up_after_seconds=settings.media_give_up_after_seconds,
    )
    for channel, parse in MESSENGERS.items():
        subscribe_batches(
            broker,
            raw_topic(channel),
            group_id=f"{settings.consumer_group}.{channel.value}",
            handler=MessengerHandler(
                broker,
                parse,
                media=media,
                albums=AlbumIndex(redis),
                sent=SentMessageMap(redis),
                reachability=ReachabilityStore(redis),
                producer=settings.service_name,
            ),
            settings=settings,
        )
    sms_handler = SmsHandler(
        broker,
        accounts,
        make_blob_store(settings),
        SentMessageMap(redis),
        producer=settings.service_name,
        max_bytes=settings.max_media_bytes,
        timeout_seconds=settings.media_timeout_seconds,
        give_up_after_seconds=settings.media_give_up_after_seconds,
    )
    subscribe_batches(
        broker,
        raw_topic(Channel.SMS),
        group_id=f"{settings.consumer_group}.{Channel.SMS.value}",
        handler=sms_handler,
        settings=settings,
    )
    readiness = Readiness()
    readiness.add("redis", redis_check(redis))
    return build_app(
        settings,
        broker,
        readiness=readiness,
        on_shutdown=[media.aclose, sms_handler.aclose, accounts.aclose, redis.aclose],
    )
