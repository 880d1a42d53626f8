from __future__ import annotations

from helpdesk_common.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class EmailIngestSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="EMAIL_INGEST_", extra="ignore", populate_by_name=True
    )

    service_name: str = "email-ingest"
    http_port: int = 8082
