"""notifier wiring: outbound messages sent (email over SMTP), ticket events pushed to agents."""

from __future__ import annotations

from fastapi import FastAPI
from helpdesk_common import logs, redis_client
from helpdesk_common.blobstore import make_blob_store
from helpdesk_common.broker import make_broker
from helpdesk_common.channel_accounts import ChannelAccountDirectory
from helpdesk_common.consuming import subscribe_batches
from helpdesk_common.health import Readiness, redis_check
from helpdesk_common.media_links import MediaLinks
from helpdesk_common.records import Channel
from helpdesk_common.sent_messages import SentMessageMap
from helpdesk_common.service import build_app
from helpdesk_common.topics import OUTBOUND_MESSAGES, TICKET_EVENTS

from .audience import TicketAudience
from .handlers import TicketEventsHandler
from .messenger_parts import PartLog
from .notification_source import NotificationSource
from .notifications import NotificationsHandler
from .push import PushPublisher
from .rate_limits import RateLimiter
from .send_log import SendLog
from .sending import EmailChannel, OutboundSender
from .settings import NotifierSettings
from .sms_log import SmsLog
from .sms_sender import SmsChannel, SmsProviders
from .sms_status_poller import SmsStatusPoller
from .smtp_sender import SmtpSender
from .telegram_sender import TelegramChannel
from .viber_sender import ViberChannel
from .vk_sender import VkChannel


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    settings = settings or NotifierSettings()
    logs.configure(settings.service_name, settings.log_level)
    broker = make_broker(settings)
    redis = redis_client.connect(settings.redis_url)
    audience = (
        TicketAudience(settings.ticket_core_url, settings.internal_token)
        if settings.internal_token
        else None
    )
    push = PushPublisher(
        redis, settings.push_channel, settings.seen_ttl_seconds, audience.of if audience else None
    )
    blobs = make_blob_store(settings)
    accounts = ChannelAccountDirectory(
        settings.ticket_core_url,
        settings.internal_token,
        ttl_seconds=settings.account_cache_ttl_seconds,
    )
    parts = PartLog(redis, settings.send_state_ttl_seconds)
    sent = SentMessageMap(redis)
    links = (
        MediaLinks(settings.media_link_key, settings.public_media_base_url)
        if settings.media_link_key and settings.public_media_base_url
        else None
    )
    limiter = (
        RateLimiter(redis, settings.rate_limit_max_wait_seconds)
        if settings.rate_limits_enabled
        else None
    )
    telegram = TelegramChannel(settings, accounts, blobs, parts, sent, limiter)
    viber = ViberChannel(settings, accounts, parts, sent, links)
    sms_providers = SmsProviders(settings.provider_timeout_seconds)
    sms_log = SmsLog(redis, settings.send_state_ttl_seconds)
    sms_poller = SmsStatusPoller(settings, broker, accounts, sms_providers, sms_log)
    send_log = SendLog(redis, settings.send_state_ttl_seconds)
    smtp = SmtpSender(settings)
    sms = SmsChannel(settings, accounts, sms_providers, parts, sent, sms_log, links, limiter)
    sender = OutboundSender(
        broker,
        send_log,
        {
            Channel.EMAIL: EmailChannel(settings, smtp, blobs),
            Channel.TELEGRAM: telegram,
            Channel.VIBER: viber,
            Channel.VK: VkChannel(settings, accounts, blobs, parts, sent),
            Channel.SMS: sms,
        },
        settings.service_name,
    )
    subscribe_batches(
        broker,
        OUTBOUND_MESSAGES,
        group_id=f"{settings.consumer_group}.outbound",
        handler=sender,
        settings=settings,
    )
    subscribe_batches(
        broker,
        TICKET_EVENTS,
        group_id=settings.consumer_group,
        handler=TicketEventsHandler(push),
        settings=settings,
    )
    notification_source = NotificationSource(
        settings.ticket_core_url,
        settings.internal_token,
        config_ttl_seconds=settings.notification_config_ttl_seconds,
    )
    if settings.notifications_enabled:
        subscribe_batches(
            broker,
            TICKET_EVENTS,
            group_id=f"{settings.consumer_group}.notifications",
            handler=NotificationsHandler(settings, notification_source, send_log, smtp, sms),
            settings=settings,
        )
    readiness = Readiness()
    readiness.add("redis", redis_check(redis))

    return build_app(
        settings,
        broker,
        readiness=readiness,
        on_startup=[sms_poller.start],
        on_stopping=[sms_poller.stop],
        on_shutdown=[
            telegram.aclose,
            viber.aclose,
            sms_providers.aclose,
            accounts.aclose,
            notification_source.aclose,
            redis.aclose,
            *([audience.aclose] if audience else []),
        ],
    )
