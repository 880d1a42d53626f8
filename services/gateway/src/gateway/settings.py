from __future__ import annotations

from helpdesk_common.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", populate_by_name=True)

    service_name: str = "gateway"
    http_port: int = 8080
    max_body_bytes: int = 256 * 1024
    rate_limit_per_minute: int = 120
    trust_forwarded_for: bool = False
