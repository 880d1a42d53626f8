"""The web-form channel at the edge: parse, validate, build the raw record."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import parse_qsl

from helpdesk_common.records import Channel, RawWebhook
from helpdesk_common.webform import WebformSubmission

FORM_TYPES = ("application/x-www-form-urlencoded",)


class InvalidSubmission(ValueError):
    pass


def parse_fields(body: bytes, content_type: str) -> dict[str, Any]:
    """The posted fields from a JSON object or an urlencoded form."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidSubmission("body is not UTF-8") from exc
    if content_type.startswith(FORM_TYPES):
        return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=100))
    try:
        fields = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidSubmission(f"body is not JSON: {exc.msg}") from exc
    except RecursionError as exc:  # a nesting bomb ("[[[[..."), well under the size cap
        raise InvalidSubmission("body is nested too deeply") from exc
    if not isinstance(fields, dict):
        raise InvalidSubmission("body must be a JSON object")
    return fields


def raw_id_for(account: str, idempotency_key: str | None) -> str | None:
    """A client's Idempotency-Key maps to a stable raw id, so its retries are stored once."""
    if not idempotency_key:
        return None
    return hashlib.sha256(f"webform:{account}:{idempotency_key}".encode()).hexdigest()[:32]


def build_raw_record(
    account: str,
    submission: WebformSubmission,
    *,
    raw_id: str | None,
    correlation_id: str,
    source_ip: str | None,
) -> RawWebhook:
    extra: dict[str, Any] = {"correlation_id": correlation_id}
    if raw_id:
        extra["raw_id"] = raw_id
    return RawWebhook(
        channel=Channel.WEBFORM,
        channel_account=account,
        content_type="application/json",
        body=submission.model_dump_json(),
        source_ip=source_ip,
        **extra,
    )
