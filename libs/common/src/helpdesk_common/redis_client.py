"""The Redis client every service uses.

A restarted Redis leaves every pooled connection stale, and the first command on each
then fails ("Connection closed by server"). In the notifier that failure could fall
between a provider call and the record that it was made, so the batch's retry sent the
message again. The client therefore reconnects and retries a command up to twice on a
connection error, with a short backoff; a server that stays down still raises, and the
callers' transient-error handling (batch rewind) takes over.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError


def connect(url: str) -> Redis:
    return Redis.from_url(
        url,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        retry_on_error=[RedisConnectionError],
    )
