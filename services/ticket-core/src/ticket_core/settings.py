from __future__ import annotations

from helpdesk_common.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class TicketCoreSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="TICKET_CORE_", extra="ignore", populate_by_name=True
    )

    service_name: str = "ticket-core"
    http_port: int = 8081
    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:15432/helpdesk",
        validation_alias="DATABASE_URL",
    )
    db_pool_size: int = 10
    consumer_group: str = "ticket-core"
    reopen_window_days: float = 7.0
    outbox_sweep_interval_seconds: float = 2.0
    # --- work per process (docs/ingest-performance.md, "Fourth round") ---
    run_inbound: bool = Field(
        default=True,
        description="Consume inbound.messages.v1 in this process (contacts, tickets, messages).",
    )
    run_background: bool = Field(
        default=True,
        description="Run the trigger, delivery and call consumers, the outbox relay and the "
        "timers in this process. With both on (the default) one process does everything; "
        "split, a process with only run_inbound keeps the inbound path to itself and one with "
        "only run_background publishes its outbox rows (LISTEN helpdesk_outbox).",
    )
    email_domain: str = Field(
        default="helpdesk.local", description="Right-hand side of the Message-IDs we generate."
    )
    reply_email_account: str = Field(
        default="support",
        description="Email channel account for replies to tickets that came from a web form.",
    )
    auto_close_after_seconds: float = Field(
        default=7 * 24 * 3600.0,
        gt=0,
        description="A Resolved ticket closes by itself this long after it was resolved.",
    )
    timer_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often each replica looks for due status timers."
    )
    timer_batch_size: int = Field(default=100, ge=1, description="Timers fired per round.")
    max_upload_bytes: int = Field(
        default=20 * 1024 * 1024, gt=0, description="The largest file an agent can attach."
    )
    trigger_time_poll_seconds: float = Field(
        default=30.0, gt=0, description="How often each replica scans for time-based triggers."
    )
    trigger_time_batch_size: int = Field(
        default=100, ge=1, description="Tickets looked at per time trigger and scan."
    )
    api_token: str | None = Field(
        default=None, description="The service token: 'Authorization: Bearer <token>' is a service."
    )
    allow_anonymous: bool = Field(
        default=False,
        description="Development and tests only: while no API token is set, a request without "
        "credentials is trusted as a service. Off by default: such a request gets 401.",
    )
    routing_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a replica reuses the routing table it read (changes made on "
        "another replica apply within this time).",
    )
    # --- agent auth (docs/agent-auth.md) ---
    session_idle_seconds: float = Field(
        default=8 * 3600.0, gt=0, description="A session unused this long ends (sliding)."
    )
    session_max_age_seconds: float = Field(
        default=7 * 24 * 3600.0, gt=0, description="A session ends this long after login."
    )
    session_cookie_secure: bool = Field(
        default=True, description="Send the session cookie over HTTPS only."
    )
    session_cookie_domain: str | None = Field(
        default=None, description="Cookie domain, to share the session with the gateway's host."
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins in a row before the login is locked."
    )
    login_lockout_minutes: float = Field(
        default=15.0, gt=0, description="How long a locked login stays locked."
    )
    # --- agent console (docs/console.md) ---
    console_push_url: str | None = Field(
        default=None,
        description="The gateway's agent WebSocket as the browser reaches it "
        "(ws[s]://host/ws/agents); unset: /ws/agents on the console's own host.",
    )
    # --- contacts API (docs/contacts-api.md) ---
    default_phone_country: str = Field(
        default="RU",
        pattern=r"^[A-Za-z]{2}$",
        description="Country (ISO alpha-2) in which contacts' phone numbers without + are read.",
    )
    # --- ingest latency and throughput (docs/ingest-performance.md) ---
    inbound_fetch_max_wait_ms: int = Field(
        default=20,
        ge=1,
        description="How long the broker may hold the inbound consumer's fetch when no record "
        "is there (the embedded broker answers only when the wait runs out): the publish-to-"
        "commit latency's floor. Other consumers use consumer_fetch_max_wait_ms.",
    )
    inbound_consumers: int = Field(
        default=1,
        ge=1,
        le=8,
        description="Members of the inbound consumer group in one process; each takes its own "
        "partitions, like a replica (per-key order and exactly-once storage hold as with "
        "replicas).",
    )
