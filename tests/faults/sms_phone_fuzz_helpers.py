"""What the SMS and telephony fuzz tests (test_sms_fuzz, test_pbx_webhook_fuzz,
test_simple_calls_fuzz) share: their Hypothesis settings (``fuzz_strategies.FUZZ``, and
``FUZZ_SLOW`` for costly strategies), the receive time and form content type of their
records, and the check every call event must pass (it survives the broker and
PostgreSQL text).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fuzz_strategies import EXAMPLES, FUZZ
from helpdesk_common.records import CallEvent
from hypothesis import settings

__all__ = ["FORM", "FUZZ", "FUZZ_SLOW", "RECEIVED", "check_call_event"]

FUZZ_SLOW = settings(FUZZ, max_examples=max(EXAMPLES // 3, 10))  # strategies costly to draw
RECEIVED = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded"


def check_call_event(call: CallEvent) -> None:
    # Published and read back by ticket-core, whose messages are PostgreSQL text (no NUL).
    assert CallEvent.model_validate_json(call.model_dump_json()) == call
    assert "\\u0000" not in call.model_dump_json()
    assert call.partition_key()
    assert call.duration_seconds is None or call.duration_seconds >= 0
