"""Gateway wiring: broker (producer), Redis, web-form endpoint."""

from __future__ import annotations

from fastapi import FastAPI
from helpdesk_common import logs
from helpdesk_common.broker import make_broker
from helpdesk_common.health import Readiness, redis_check
from helpdesk_common.service import build_app
from redis.asyncio import Redis

from .handlers import webform_router
from .ratelimit import RateLimiter
from .settings import GatewaySettings


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    logs.configure(settings.service_name, settings.log_level)
    broker = make_broker(settings)
    redis = Redis.from_url(settings.redis_url)
    readiness = Readiness()
    readiness.add("redis", redis_check(redis))

    return build_app(
        settings,
        broker,
        readiness=readiness,
        on_shutdown=[redis.aclose],
        routers=[
            webform_router(settings, broker, RateLimiter(redis, settings.rate_limit_per_minute))
        ],
    )
