from __future__ import annotations

from helpdesk_common.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class TelephonySettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="TELEPHONY_", extra="ignore", populate_by_name=True
    )

    service_name: str = "telephony"
    http_port: int = 8084
