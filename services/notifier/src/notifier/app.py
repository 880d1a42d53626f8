"""notifier wiring: ticket events in, agent push out (through Redis pub/sub)."""

from __future__ import annotations

from fastapi import FastAPI
from helpdesk_common import logs
from helpdesk_common.broker import make_broker
from helpdesk_common.consuming import subscribe_batches
from helpdesk_common.health import Readiness, redis_check
from helpdesk_common.service import build_app
from helpdesk_common.topics import TICKET_EVENTS
from redis.asyncio import Redis

from .handlers import TicketEventsHandler
from .push import PushPublisher
from .settings import NotifierSettings


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    settings = settings or NotifierSettings()
    logs.configure(settings.service_name, settings.log_level)
    broker = make_broker(settings)
    redis = Redis.from_url(settings.redis_url)
    push = PushPublisher(redis, settings.push_channel, settings.seen_ttl_seconds)
    subscribe_batches(
        broker,
        TICKET_EVENTS,
        group_id=settings.consumer_group,
        handler=TicketEventsHandler(push),
        settings=settings,
    )
    readiness = Readiness()
    readiness.add("redis", redis_check(redis))

    return build_app(settings, broker, readiness=readiness, on_shutdown=[redis.aclose])
