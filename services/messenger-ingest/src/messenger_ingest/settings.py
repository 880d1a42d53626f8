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
    # Channel accounts (Telegram tokens for getFile) from ticket-core's internal API.
    ticket_core_url: str = "http://127.0.0.1:8081"
    internal_token: str | None = None
    account_cache_ttl_seconds: float = 30.0
    telegram_api_base_url: str = "https://api.telegram.org"
    max_media_bytes: int = 20 * 1024 * 1024
    media_timeout_seconds: float = 30.0
    # A file still unreachable this long after its webhook arrived is recorded as skipped.
    media_give_up_after_seconds: float = 900.0
