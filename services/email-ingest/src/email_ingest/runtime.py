"""What a mailbox poller is given (dependencies, tuning) and what it reports (state)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from faststream.kafka import KafkaBroker
from helpdesk_common.blobstore import BlobStore
from helpdesk_common.records import InboundMessage

from .context import MailboxContext
from .pipeline import build_inbound

Convert = Callable[[bytes, MailboxContext, BlobStore], Awaitable[InboundMessage]]


@dataclass(frozen=True)
class PollerTuning:
    lease_ttl_seconds: float = 30.0
    imap_timeout_seconds: float = 30.0
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 120.0
    stop_grace_seconds: float = 15.0
    failed_list_max: int = 10_000


@dataclass(frozen=True)
class PollerDeps:
    broker: KafkaBroker
    redis: Any
    blobs: BlobStore
    producer: str
    replica_id: str
    redis_prefix: str = "email-ingest"
    convert: Convert = build_inbound


@dataclass
class PollerState:
    """What the poller is doing, for status pages and tests."""

    holding_lease: bool = False
    connected: bool = False
    waiting: bool = False
    sessions: int = 0
    connect_failures: int = 0
    """Consecutive failed sessions (reset once a session gets as far as searching)."""
    last_error: str | None = None
    published: int = 0
    skipped: int = 0
    failed: int = 0


def scrub(exc: BaseException, secret: str, limit: int = 300) -> str:
    """An error as text, without the secret even if a library echoed it."""
    text = f"{type(exc).__name__}: {exc}"
    if secret:
        text = text.replace(secret, "***")
    return text[:limit]
