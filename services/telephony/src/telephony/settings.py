from __future__ import annotations

from helpdesk_common.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class TelephonySettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="TELEPHONY_", extra="ignore", populate_by_name=True
    )

    service_name: str = "telephony"
    http_port: int = 8084
    consumer_group: str = "telephony"
    # Phone channel accounts (Simple Calls servers, PBX webhooks) and caller cards come
    # from ticket-core's internal API.
    ticket_core_url: str = "http://127.0.0.1:8081"
    internal_token: str | None = None
    account_cache_ttl_seconds: float = 30.0
    account_refresh_seconds: float = 10.0
    # Agents' extensions (ticket-core profiles) are cached this long (extension -> agent
    # for ringing pushes, agent -> extension for click-to-call).
    agent_cache_ttl_seconds: float = 5.0
    # Simple Calls connections: reconnect with exponential backoff between these bounds.
    reconnect_initial_seconds: float = 1.0
    reconnect_max_seconds: float = 60.0
    push_channel: str = "helpdesk:push"
    call_state_ttl_seconds: int = 24 * 3600
    # Click-to-call: the service token; logged-in agents use their session instead.
    api_token: str | None = None
    # Development and tests only: with no API token, callers without credentials are
    # trusted as a service. Off by default (401).
    allow_anonymous: bool = False
