from __future__ import annotations

from helpdesk_common.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class MessengerIngestSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="MESSENGER_INGEST_", extra="ignore", populate_by_name=True
    )

    service_name: str = "messenger-ingest"
    http_port: int = 8083
    consumer_group: str = "messenger-ingest"
