"""The webhook rate limit leases blocks of its Redis count: exact for one replica, never
over the limit for several, failing open together when Redis is unreachable."""

from __future__ import annotations

import asyncio
import socket
import uuid

from gateway.ratelimit import RateLimiter, granted
from redis.asyncio import Redis


def test_a_block_is_granted_only_as_far_as_the_window_reaches() -> None:
    assert granted(count_after=60, block=60, limit=6000) == 60
    assert granted(count_after=6000, block=60, limit=6000) == 60
    assert granted(count_after=6030, block=60, limit=6000) == 30
    assert granted(count_after=6060, block=60, limit=6000) == 0
    assert granted(count_after=9000, block=60, limit=6000) == 0


async def test_one_replica_admits_exactly_the_limit_with_few_round_trips(infra) -> None:  # type: ignore[no-untyped-def]
    redis = Redis.from_url(infra.redis_url)
    prefix = f"test-lease-{uuid.uuid4().hex[:8]}"
    try:
        now = [6000.0]
        limiter = RateLimiter(redis, per_minute=1000, prefix=prefix, clock=lambda: now[0])
        assert limiter.block == 10
        answers = [await limiter.allow("9.9.9.9") for _ in range(1020)]
        assert answers.count(True) == 1000 and answers[:1000] == [True] * 1000
        # The count in Redis moved by blocks: one round trip per 10 requests.
        assert int(await redis.get(f"{prefix}:9.9.9.9:100")) == 1010
        now[0] += 60  # the next minute: a fresh budget
        assert await limiter.allow("9.9.9.9") is True
    finally:
        await redis.aclose()


async def test_concurrent_requests_share_one_lease_and_stay_exact(infra) -> None:  # type: ignore[no-untyped-def]
    redis = Redis.from_url(infra.redis_url)
    prefix = f"test-lease-{uuid.uuid4().hex[:8]}"
    try:
        limiter = RateLimiter(redis, per_minute=500, prefix=prefix, clock=lambda: 6000.0)
        answers = await asyncio.gather(*(limiter.allow("8.8.8.8") for _ in range(700)))
        assert answers.count(True) == 500
        # Requests waiting on a lease in flight did not lease blocks of their own.
        assert int(await redis.get(f"{prefix}:8.8.8.8:100")) <= 500 + limiter.block
    finally:
        await redis.aclose()


async def test_replicas_together_never_admit_more_than_the_limit(infra) -> None:  # type: ignore[no-untyped-def]
    redis = Redis.from_url(infra.redis_url)
    prefix = f"test-lease-{uuid.uuid4().hex[:8]}"
    try:
        one, two = (
            RateLimiter(redis, per_minute=600, prefix=prefix, clock=lambda: 6000.0)
            for _ in range(2)
        )
        admitted = 0
        for i in range(900):
            admitted += await (one if i % 2 else two).allow("7.7.7.7")
        # Never more than the limit; short of it by at most the other replica's unspent block.
        assert 600 - one.block <= admitted <= 600
    finally:
        await redis.aclose()


async def test_requests_waiting_on_a_failed_lease_fail_open_too() -> None:
    with socket.socket() as probe:  # nothing listens on this port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    redis = Redis.from_url(f"redis://127.0.0.1:{port}/0")
    try:
        limiter = RateLimiter(redis, per_minute=6000, prefix="test-lease-down")
        answers = await asyncio.gather(*(limiter.allow("6.6.6.6") for _ in range(20)))
        assert answers == [True] * 20
    finally:
        await redis.aclose()
