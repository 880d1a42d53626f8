"""messenger-ingest wiring: one batch subscription per raw channel topic it normalises."""

from __future__ import annotations

from fastapi import FastAPI
from helpdesk_common import logs
from helpdesk_common.broker import make_broker
from helpdesk_common.consuming import subscribe_batches
from helpdesk_common.health import Readiness
from helpdesk_common.records import Channel
from helpdesk_common.service import build_app
from helpdesk_common.topics import raw_topic

from . import webform
from .handlers import Normaliser, RawHandler
from .settings import MessengerIngestSettings

NORMALISERS: dict[Channel, Normaliser] = {
    Channel.WEBFORM: webform.normalise,
}


def create_app(settings: MessengerIngestSettings | None = None) -> FastAPI:
    settings = settings or MessengerIngestSettings()
    logs.configure(settings.service_name, settings.log_level)
    broker = make_broker(settings)
    for channel, normalise in NORMALISERS.items():
        subscribe_batches(
            broker,
            raw_topic(channel),
            group_id=settings.consumer_group,
            handler=RawHandler(broker, normalise, settings.service_name),
            settings=settings,
        )
    return build_app(settings, broker, readiness=Readiness())
