from __future__ import annotations

from typing import Literal

from helpdesk_common.settings import ServiceSettings
from pydantic import Field, SecretStr
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
    # Messenger replies: channel accounts from ticket-core's internal API.
    ticket_core_url: str = "http://127.0.0.1:8081"
    internal_token: str | None = None
    account_cache_ttl_seconds: float = 30.0
    telegram_api_base_url: str = "https://api.telegram.org"
    viber_api_base_url: str = "https://chatapi.viber.com/pa"
    vk_api_base_url: str = "https://api.vk.ru"
    vk_api_version: str = "5.199"
    vk_rps_delay: float = 0.05
    provider_timeout_seconds: float = 15.0
    max_retry_wait_seconds: float = 3.0
    # Viber fetches reply media by URL: signed links served by the gateway.
    public_media_base_url: str | None = None
    media_link_key: str | None = Field(default=None, validation_alias="MEDIA_LINK_KEY")
    # SMS: Twilio status callbacks go to <public_webhook_base_url>/webhooks/sms/<account>/status
    # (the gateway); replies on tickets that did not come by SMS use sms_default_account
    # (or the only enabled SMS account); providers that only answer when asked are polled.
    public_webhook_base_url: str | None = None
    sms_default_account: str | None = None
    sms_poll_interval_seconds: float = 30.0
    sms_poll_max_age_seconds: float = 2 * 24 * 3600.0
    # Notifications (types, templates and options come from ticket-core, cached this long).
    notifications_enabled: bool = True
    notification_config_ttl_seconds: float = 5.0
    # Provider rate limits (Redis token buckets shared by replicas); a send waits for its
    # token up to rate_limit_max_wait_seconds, then the batch is retried later.
    telegram_chat_rate: float = Field(default=1.0, gt=0, description="Messages/s per chat.")
    telegram_chat_burst: float = Field(default=1.0, ge=1)
    telegram_global_rate: float = Field(default=30.0, gt=0, description="Messages/s per bot.")
    sms_rate: float = Field(
        default=10.0, gt=0, description="SMS/s per account (account config rate_per_second wins)."
    )
    rate_limit_max_wait_seconds: float = 10.0
    rate_limits_enabled: bool = True
