"""The web-form channel's edge validation (gateway) and normalisation (messenger-ingest)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from gateway.ratelimit import RateLimiter
from gateway.webform import InvalidSubmission, build_raw_record, parse_fields, raw_id_for
from helpdesk_common.records import Channel
from helpdesk_common.webform import WebformSubmission
from messenger_ingest.webform import normalise
from pydantic import ValidationError
from redis.asyncio import Redis


def raw(fields: dict[str, object], raw_id: str | None = None):  # type: ignore[no-untyped-def]
    return build_raw_record(
        "site",
        WebformSubmission.from_fields(fields),
        raw_id=raw_id,
        correlation_id="cid-1",
        source_ip="10.0.0.1",
    )


def test_json_and_urlencoded_bodies_give_the_same_fields() -> None:
    as_json = parse_fields(b'{"email": "a@b.co", "text": "hi", "x": "1"}', "application/json")
    as_form = parse_fields(
        b"email=a%40b.co&text=hi&x=1", "application/x-www-form-urlencoded; charset=utf-8"
    )
    assert as_json == as_form == {"email": "a@b.co", "text": "hi", "x": "1"}


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"\xff\xfe", "UTF-8"), (b"{oops", "not JSON"), (b"[1, 2]", "JSON object")],
)
def test_unreadable_bodies_are_refused_with_a_reason(body: bytes, message: str) -> None:
    with pytest.raises(InvalidSubmission, match=message):
        parse_fields(body, "application/json")


def test_submission_requires_text_and_a_way_to_answer() -> None:
    with pytest.raises(ValidationError, match="text"):
        WebformSubmission.from_fields({"email": "a@b.co"})
    with pytest.raises(ValidationError, match="email or a phone"):
        WebformSubmission.from_fields({"text": "hi", "name": "Ann"})
    with pytest.raises(ValidationError, match="not an email"):
        WebformSubmission.from_fields({"text": "hi", "email": "nobody"})
    with pytest.raises(ValidationError, match="not a phone"):
        WebformSubmission.from_fields({"text": "hi", "phone": "call me"})


def test_extra_fields_are_kept_as_text_and_bounded() -> None:
    submission = WebformSubmission.from_fields(
        {"text": "hi", "phone": "+7 (900) 123-45-67", "seats": 4}
    )
    assert submission.phone == "+79001234567"
    assert submission.extra == {"seats": "4"}
    with pytest.raises(ValueError, match="at most"):
        WebformSubmission.from_fields(
            {"text": "hi", "phone": "12345", **{f"f{i}": "v" for i in range(51)}}
        )


def test_idempotency_key_maps_to_a_stable_raw_id_per_account() -> None:
    assert raw_id_for("site", "k1") == raw_id_for("site", "k1")
    assert raw_id_for("site", "k1") != raw_id_for("other", "k1")
    assert raw_id_for("site", None) is None


def test_normalised_message_has_description_lines_subject_and_identity() -> None:
    record = raw(
        {
            "name": "Ann",
            "email": "Ann@Example.com",
            "text": "\n  Printer jams \nagain",
            "order_no": "42",
            "office-name": "Main",
        }
    )
    message = normalise(record)
    assert message.channel is Channel.WEBFORM
    assert message.channel_account == "site"
    assert message.idempotency_key == f"webform:site:{record.raw_id}"
    assert message.correlation_id == "cid-1"
    assert message.subject == "Printer jams"
    assert message.text.endswith("\n\nOrder no: 42\nOffice name: Main")
    assert message.sender.email == "ann@example.com"
    assert message.partition_key() == "webform:ann@example.com"
    assert message.fields == {"order_no": "42", "office-name": "Main"}


def test_given_subject_wins_and_blank_text_is_refused() -> None:
    assert (
        normalise(raw({"phone": "+4912345678", "text": "x", "subject": "Invoice"})).subject
        == "Invoice"
    )
    with pytest.raises(ValidationError, match="text"):
        raw({"phone": "+4912345678", "text": "   \n  "})


def test_same_raw_record_normalises_to_the_same_key() -> None:
    record = raw({"email": "a@b.co", "text": "hi"}, raw_id="abc")
    assert (
        normalise(record).idempotency_key == normalise(record).idempotency_key == "webform:site:abc"
    )


async def test_rate_limit_counts_per_source_in_redis(infra) -> None:  # type: ignore[no-untyped-def]
    redis = Redis.from_url(infra.redis_url)
    try:
        now = [600.0]
        limiter = RateLimiter(redis, per_minute=3, prefix="test-rl", clock=lambda: now[0])
        results = [await limiter.allow("1.2.3.4") for _ in range(5)]
        assert results == [True, True, True, False, False]
        assert await limiter.allow("5.6.7.8") is True
        now[0] += 60  # the next minute starts a new window
        assert await limiter.allow("1.2.3.4") is True
    finally:
        await redis.aclose()


async def test_rate_limit_without_redis_lets_sources_under_the_limit_through() -> None:
    # Nothing listens on this port: every Redis call fails with a connection error. No
    # request is refused because of that; a source over the limit on this replica alone
    # (so over the shared limit too) still is.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    redis = Redis.from_url(f"redis://127.0.0.1:{port}/0")
    try:
        limiter = RateLimiter(redis, per_minute=2, prefix="test-rl-down")
        results = [await limiter.allow("1.2.3.4") for _ in range(4)]
        assert results == [True, True, False, False]
        assert await limiter.allow("5.6.7.8") is True
    finally:
        await redis.aclose()


async def test_rate_limit_keeps_limiting_a_flood_while_redis_answers_late(infra) -> None:  # type: ignore[no-untyped-def]
    """A flood can load the gateway (or Redis) until replies come after the timeout: the
    limiter then decides by its own count instead of letting the whole flood through."""
    redis = Redis.from_url(infra.redis_url)
    admin = Redis.from_url(infra.redis_url)
    try:
        limiter = RateLimiter(
            redis, per_minute=3, prefix=f"test-rl-slow-{uuid.uuid4().hex}", timeout_seconds=0.2
        )
        await limiter.allow("warm-up")  # loads the script before Redis is paused
        await admin.execute_command("CLIENT", "PAUSE", 800, "WRITE")  # writes wait 0.8 s
        flood = await asyncio.gather(*(limiter.allow("9.9.9.9") for _ in range(8)))
        assert sorted(flood, reverse=True) == [True] * 3 + [False] * 5
        assert await limiter.allow("8.8.8.8") is True  # another source is not affected
    finally:
        await admin.execute_command("CLIENT", "UNPAUSE")
        await redis.aclose()
        await admin.aclose()


async def test_rate_limit_never_lets_more_than_the_limit_through_on_one_replica(infra) -> None:  # type: ignore[no-untyped-def]
    redis = Redis.from_url(infra.redis_url)
    try:
        limiter = RateLimiter(redis, per_minute=5, prefix=f"test-rl-cap-{uuid.uuid4().hex}")
        results = await asyncio.gather(*(limiter.allow("7.7.7.7") for _ in range(40)))
        assert results.count(True) == 5
    finally:
        await redis.aclose()
