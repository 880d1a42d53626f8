"""Settings of the desk APIs (presence, portal), same ``TICKET_CORE_`` prefix as the
service's own settings but kept apart so ``settings.py`` stays as it is."""

from __future__ import annotations

from helpdesk_common.agent_push import PUSH_CHANNEL
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DeskConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TICKET_CORE_", extra="ignore")

    presence_ttl_seconds: float = Field(
        default=45.0, gt=0, description="A viewer without a heartbeat for this long has left."
    )
    push_channel: str = Field(
        default=PUSH_CHANNEL, description="Redis pub/sub channel of agent pushes (the notifier's)."
    )
    portal_channel_account: str = Field(
        default="portal",
        description="Channel account (web form channel) of portal messages and tickets.",
    )
    portal_session_idle_seconds: float = Field(default=8 * 3600, gt=0)
    portal_session_max_age_seconds: float = Field(default=30 * 86400, gt=0)
    portal_login_max_failures: int = Field(default=5, ge=1)
    portal_login_lockout_minutes: float = Field(default=15.0, gt=0)
