"""telephony wiring: Simple Calls connections (one per account), PBX webhook records,
call events to ``inbound.calls.v1``, ringing pushes, click-to-call."""

from __future__ import annotations

from fastapi import FastAPI
from helpdesk_common import logs, redis_client
from helpdesk_common.agent_sessions import AgentSessions
from helpdesk_common.broker import make_broker
from helpdesk_common.channel_accounts import ChannelAccountDirectory
from helpdesk_common.consuming import subscribe_batches
from helpdesk_common.health import Readiness, redis_check
from helpdesk_common.records import Channel
from helpdesk_common.service import build_app
from helpdesk_common.topics import raw_topic

from .agent_phones import AgentPhones
from .caller_cards import CallerCards
from .callers import Callers
from .click_to_call import calls_router
from .connectors import Connectors
from .handlers import PbxWebhookHandler
from .pbx import PbxCalls
from .settings import TelephonySettings
from .sink import CallSink


def create_app(settings: TelephonySettings | None = None) -> FastAPI:
    settings = settings or TelephonySettings()
    logs.configure(settings.service_name, settings.log_level)
    broker = make_broker(settings)
    redis = redis_client.connect(settings.redis_url)
    accounts = ChannelAccountDirectory(
        settings.ticket_core_url,
        settings.internal_token,
        ttl_seconds=settings.account_cache_ttl_seconds,
    )
    cards = CallerCards(settings.ticket_core_url, settings.internal_token)
    phones = AgentPhones(
        settings.ticket_core_url,
        settings.internal_token,
        ttl_seconds=settings.agent_cache_ttl_seconds,
    )
    sink = CallSink(
        broker,
        redis,
        cards,
        phones,
        push_channel=settings.push_channel,
        producer=settings.service_name,
    )
    subscribe_batches(
        broker,
        raw_topic(Channel.PHONE),
        group_id=settings.consumer_group,
        handler=PbxWebhookHandler(accounts, PbxCalls(redis, settings.call_state_ttl_seconds), sink),
        settings=settings,
    )
    connectors = Connectors(settings, accounts, sink)
    readiness = Readiness()
    readiness.add("redis", redis_check(redis))
    return build_app(
        settings,
        broker,
        readiness=readiness,
        on_startup=[connectors.start],
        on_stopping=[connectors.stop],
        on_shutdown=[cards.aclose, phones.aclose, accounts.aclose, redis.aclose],
        routers=[
            calls_router(
                Callers(
                    settings.api_token,
                    AgentSessions(redis),
                    allow_anonymous=settings.allow_anonymous,
                ),
                connectors,
                phones,
            )
        ],
    )
