"""The generic PBX webhook (``raw.telephony.v1``) becomes call events.

``newCall`` -> ringing, ``answer`` -> answered, ``hangup`` -> completed. The webhook
carries no duration, so the call's progress is kept in Redis
(``telephony:call:<account>:<callId>``: when it started and was answered, its numbers;
first value wins, so a redelivered record changes nothing): the duration is hangup -
answer, and an incoming call that was never answered is missed. Times are the gateway's
receive times, so a replay computes the same record. Numbers are read in the account's
default country; keys are ``pbx:<account>:<callId>:<kind>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from helpdesk_common.phone_accounts import PhoneAccountConfig
from helpdesk_common.phone_numbers import to_e164
from helpdesk_common.records import CallEvent, CallKind, RawWebhook
from redis.asyncio import Redis

MAX_CALL_ID = 128  # PBXs use numbers or UUIDs; the record's keys must stay under 512
KINDS = {"newCall": CallKind.RINGING, "answer": CallKind.ANSWERED, "hangup": CallKind.COMPLETED}


class UnsupportedPbxEvent(ValueError):
    pass


def _text(value: Any) -> str | None:
    """A field's value as text: a string without NUL characters (PostgreSQL refuses
    them) or lone surrogates (Redis and the records refuse them); numbers and booleans as
    JSON spells them; null, objects and arrays are no value at all."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = json.dumps(value)
    elif isinstance(value, str):
        text = value
    else:
        return None
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def fields(raw: RawWebhook) -> dict[str, str]:
    """The webhook's fields as text (a JSON array: its first item; a repeated form field:
    its last value)."""
    if raw.content_type.startswith("application/json"):
        try:
            value: Any = json.loads(raw.body)
        except (ValueError, RecursionError) as exc:  # RecursionError: a nesting bomb
            raise UnsupportedPbxEvent(f"pbx body is not JSON: {str(exc)[:200]}") from exc
        if not isinstance(value, dict):
            raise UnsupportedPbxEvent("pbx body is not a JSON object")
        found: dict[str, str] = {}
        for name, item in value.items():
            text = _text(item[0] if isinstance(item, list) and item else item)
            if text is not None:
                found[_text(name) or ""] = text
        return found
    pairs = parse_qsl(raw.body, keep_blank_values=True)
    return {(_text(k) or "").removesuffix("[]"): _text(v) or "" for k, v in pairs}


@dataclass(frozen=True)
class PbxEvent:
    """What one webhook says about a call: its kind and id, and the facts it carries
    (``<kind>_at``, numbers, extension) that go into the call's progress in Redis."""

    kind: CallKind
    call_id: str
    values: dict[str, str]
    recording_url: str | None


def parse_event(raw: RawWebhook) -> PbxEvent:
    """The webhook's event, or ``UnsupportedPbxEvent`` (dead-lettered with the reason)."""
    form = fields(raw)
    kind = KINDS.get(form.get("event", ""))
    call_id = form.get("callId") or form.get("call_id")
    if kind is None or not call_id:
        raise UnsupportedPbxEvent(f"pbx event {form.get('event')!r:.80} without a known kind/id")
    if len(call_id) > MAX_CALL_ID:
        raise UnsupportedPbxEvent(f"pbx call id of {len(call_id)} characters")
    values = {f"{kind.value}_at": str(raw.received_at.timestamp())}
    for name in ("from", "to", "direction", "user"):
        if form.get(name):
            values[name] = form[name]
    if form.get("answeringNumber"):
        values["extension"] = form["answeringNumber"]
    return PbxEvent(kind, call_id, values, form.get("recordingUrl") or None)


def call_event(
    raw: RawWebhook, config: PhoneAccountConfig, event: PbxEvent, state: dict[str, str]
) -> CallEvent:
    """The call event of ``event``, given the call's progress so far (``state``, which
    already holds this event's own values)."""
    kind = event.kind
    outbound = state.get("direction") == "out"
    external = state.get("to" if outbound else "from", "")
    number = to_e164(external, config.default_country) or external
    local = state.get("extension") or state.get("user") or state.get("from" if outbound else "to")
    duration = None
    missed = False
    if kind is CallKind.COMPLETED:
        answered = state.get("answered_at")
        ended = float(state.get("completed_at", raw.received_at.timestamp()))
        duration = max(0, round(ended - float(answered))) if answered else 0
        missed = not answered and not outbound
    return CallEvent(
        idempotency_key=f"pbx:{raw.channel_account}:{event.call_id}:{kind.value}",
        correlation_id=raw.correlation_id,
        channel_account=raw.channel_account,
        call_id=event.call_id,
        kind=kind,
        direction="outbound" if outbound else "inbound",
        from_number=(local or "") if outbound else number,
        to_number=number if outbound else (local or ""),
        extension=local or None,
        duration_seconds=duration,
        missed=missed,
        recording_url=event.recording_url,
        occurred_at=raw.received_at,
    )


class PbxCalls:
    """The call's progress in Redis around the pure ``parse_event`` / ``call_event``."""

    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    async def _state(self, key: str, values: dict[str, str]) -> dict[str, str]:
        async with self._redis.pipeline(transaction=True) as pipe:
            for name, value in values.items():
                pipe.hsetnx(key, name, value)
            pipe.expire(key, self._ttl)
            pipe.hgetall(key)
            results = await pipe.execute()
        return {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in results[-1].items()
        }

    async def to_call_event(self, raw: RawWebhook, config: PhoneAccountConfig) -> CallEvent:
        event = parse_event(raw)
        key = f"telephony:call:{raw.channel_account}:{event.call_id}"
        return call_event(raw, config, event, await self._state(key, event.values))
