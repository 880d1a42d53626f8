"""telephony wiring.

Call events are not produced yet (the telephony issue); the service connects to the
broker and reports health.
"""

from __future__ import annotations

from fastapi import FastAPI
from helpdesk_common import logs
from helpdesk_common.broker import make_broker
from helpdesk_common.health import Readiness
from helpdesk_common.service import build_app

from .settings import TelephonySettings


def create_app(settings: TelephonySettings | None = None) -> FastAPI:
    settings = settings or TelephonySettings()
    logs.configure(settings.service_name, settings.log_level)
    return build_app(settings, make_broker(settings), readiness=Readiness())
