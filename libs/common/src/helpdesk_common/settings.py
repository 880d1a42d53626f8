"""Settings shared by every service; each service subclasses with its own env prefix.

Infrastructure addresses are read without a prefix (``KAFKA_BOOTSTRAP_SERVERS``,
``DATABASE_URL``, ``REDIS_URL``, ``BLOB_DIR``) so one environment points the whole
system at external infrastructure.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: str = "helpdesk"
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:19092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    redis_url: str = Field(default="redis://127.0.0.1:16379/0", validation_alias="REDIS_URL")
    blob_dir: str = Field(default=".data/blobs", validation_alias="BLOB_DIR")
    blob_backend: str = Field(default="fs", validation_alias="BLOB_BACKEND")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    graceful_timeout_seconds: float = 15.0
    # How long an idle HTTP/1.1 connection stays open. Longer than any client's or proxy's
    # idle timeout (nginx upstream keepalive 60 s), so that a client never sends a request on
    # a connection the server is closing at the same moment (the client sees a read error).
    http_keepalive_seconds: int = 75
    # Bind the HTTP port with SO_REUSEPORT, so that several processes of a stateless
    # service (the gateway) share one port and the kernel spreads connections over them.
    http_reuse_port: bool = False
    consumer_max_records: int = 500
    # How long the broker may hold a fetch open when no record is there. Apache Kafka
    # answers as soon as a record arrives; the embedded broker (tansu) only when the wait
    # runs out, so this bounds its hop latency (aiokafka's default is 500 ms).
    consumer_fetch_max_wait_ms: int = 100
    consumer_retry_attempts: int = 3
    consumer_retry_backoff_seconds: float = 0.2
