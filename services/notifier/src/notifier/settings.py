from __future__ import annotations

from helpdesk_common.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore", populate_by_name=True)

    service_name: str = "notifier"
    http_port: int = 8085
    consumer_group: str = "notifier"
    push_channel: str = "helpdesk:push"
    seen_ttl_seconds: int = 7 * 24 * 3600
