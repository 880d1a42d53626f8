from __future__ import annotations

from helpdesk_common.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", populate_by_name=True)

    service_name: str = "gateway"
    http_port: int = 8080
    max_body_bytes: int = 256 * 1024
    rate_limit_per_minute: int = 120
    trust_forwarded_for: bool = False
    # Messenger webhooks: channel accounts come from ticket-core's internal API.
    ticket_core_url: str = "http://127.0.0.1:8081"
    internal_token: str | None = None
    account_cache_ttl_seconds: float = 30.0
    account_negative_ttl_seconds: float = 5.0
    webhook_rate_limit_per_minute: int = 6000
    publish_timeout_seconds: float = 10.0
    # Webhook registration (the ``gateway-webhooks`` command).
    public_base_url: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    viber_api_base_url: str = "https://chatapi.viber.com/pa"
    # Signed links to blobs (reply media that Viber fetches by URL); off without a key.
    media_link_key: str | None = Field(default=None, validation_alias="MEDIA_LINK_KEY")
    # SMS and PBX webhooks: behind a proxy, Twilio's signed URL is rebuilt from
    # ``public_base_url`` or, when the proxy is trusted, X-Forwarded-Proto/-Host.
    trust_forwarded_host: bool = False
    # Agent push over WebSocket (/ws/agents; docs/agent-auth.md).
    push_channel: str = "helpdesk:push"
    push_heartbeat_seconds: float = Field(default=25.0, gt=0)
    push_idle_timeout_seconds: float = Field(
        default=75.0, gt=0, description="Close a socket the client has been silent on this long."
    )
    push_session_check_seconds: float = Field(
        default=30.0, gt=0, description="How often a socket's session is checked (revocation)."
    )
    push_allowed_origins: str | None = Field(
        default=None, description="Comma-separated origins allowed to open sockets (all if unset)."
    )
