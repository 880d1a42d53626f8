"""Gateway wiring: broker, Redis, web form, messenger webhooks, agent push (WebSocket)."""

from __future__ import annotations

from fastapi import FastAPI
from helpdesk_common import logs, redis_client
from helpdesk_common.agent_sessions import AgentSessions
from helpdesk_common.blobstore import make_blob_store
from helpdesk_common.broker import make_broker
from helpdesk_common.channel_accounts import ChannelAccountDirectory
from helpdesk_common.direct_routes import add_to_openapi
from helpdesk_common.health import Readiness, redis_check
from helpdesk_common.media_links import MediaLinks
from helpdesk_common.service import build_app

from .channel_routes import WebhookEdge, webhook_routes
from .handlers import webform_router
from .media import media_router
from .pbx_routes import pbx_router
from .push_hub import PushHub
from .push_routes import push_router
from .ratelimit import RateLimiter
from .settings import GatewaySettings
from .sms_routes import sms_router
from .webhook_openapi import PATH_ITEMS


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    logs.configure(settings.service_name, settings.log_level)
    broker = make_broker(settings)
    redis = redis_client.connect(settings.redis_url)
    readiness = Readiness()
    readiness.add("redis", redis_check(redis))
    accounts = ChannelAccountDirectory(
        settings.ticket_core_url,
        settings.internal_token,
        ttl_seconds=settings.account_cache_ttl_seconds,
        negative_ttl_seconds=settings.account_negative_ttl_seconds,
    )
    webhook_limiter = RateLimiter(
        redis, settings.webhook_rate_limit_per_minute, prefix="gateway:rl:webhook"
    )

    edge = WebhookEdge(settings, broker, webhook_limiter, accounts)
    routers = [
        webform_router(settings, broker, RateLimiter(redis, settings.rate_limit_per_minute)),
        sms_router(edge, settings, broker),
        pbx_router(edge, settings, broker),
    ]
    hub = PushHub(redis, settings.push_channel)
    routers.append(push_router(settings, hub, AgentSessions(redis)))
    if settings.media_link_key:
        routers.append(media_router(MediaLinks(settings.media_link_key), make_blob_store(settings)))
    direct = webhook_routes(edge)
    app = build_app(
        settings,
        broker,
        readiness=readiness,
        on_startup=[hub.start],
        on_stopping=[hub.stop],
        on_shutdown=[redis.aclose, accounts.aclose],
        routers=routers,
        direct_routes=direct,
    )
    add_to_openapi(app, direct, PATH_ITEMS)  # direct routes are not FastAPI's to document
    return app
