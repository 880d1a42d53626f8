"""Pure: an SMS provider's 429 answer and its Retry-After header; the batch retry backoff."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from helpdesk_common.consuming import RetryPolicy, TransientError
from helpdesk_common.sms_providers.base import RetryLater, checked, retry_after_seconds

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 0 ", 0.0),
        ("Thu, 26 Nov 2026 12:00:30 GMT", 30.0),
        ("Thu, 26 Nov 2026 11:59:00 GMT", 0.0),  # already past: no wait
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(
    header: str | None, seconds: float | None
) -> None:
    assert retry_after_seconds(header, NOW) == seconds


def test_a_429_with_retry_after_says_how_long_and_without_it_is_plainly_transient() -> None:
    request = httpx.Request("POST", "http://sms.test/send")
    with pytest.raises(RetryLater) as told:
        checked(httpx.Response(429, headers={"Retry-After": "3"}, request=request), "smsc")
    assert told.value.retry_after == 3.0 and isinstance(told.value, TransientError)
    with pytest.raises(TransientError) as plain:
        checked(httpx.Response(429, request=request), "smsc")
    assert not isinstance(plain.value, RetryLater)
    with pytest.raises(TransientError):
        checked(httpx.Response(503, headers={"Retry-After": "3"}, request=request), "smsc")


@pytest.mark.parametrize(("attempt", "low", "high"), [(0, 0.1, 0.3), (1, 0.2, 0.6), (2, 0.4, 1.2)])
def test_batch_retries_back_off_exponentially_with_jitter(
    attempt: int, low: float, high: float
) -> None:
    policy = RetryPolicy(attempts=3, backoff_seconds=0.2)
    assert policy.delay(attempt, lambda: 0.0) == pytest.approx(low)
    assert policy.delay(attempt, lambda: 1.0) == pytest.approx(high)
    assert low <= policy.delay(attempt) <= high
