from __future__ import annotations

from typing import Literal

from helpdesk_common.settings import ServiceSettings
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore", populate_by_name=True)

    service_name: str = "notifier"
    http_port: int = 8085
    consumer_group: str = "notifier"
    push_channel: str = "helpdesk:push"
    seen_ttl_seconds: int = 7 * 24 * 3600
    # Outgoing email (one SMTP relay for every email channel account for now).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = 15.0
    email_from: str = "Support <support@helpdesk.local>"
    email_reply_to: str | None = None
    email_domain: str = "helpdesk.local"
    send_state_ttl_seconds: int = 30 * 24 * 3600
