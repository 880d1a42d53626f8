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
from typing import Any
from urllib.parse import parse_qsl

from helpdesk_common.phone_accounts import PhoneAccountConfig
from helpdesk_common.phone_numbers import to_e164
from helpdesk_common.records import CallEvent, CallKind, RawWebhook
from redis.asyncio import Redis

KINDS = {"newCall": CallKind.RINGING, "answer": CallKind.ANSWERED, "hangup": CallKind.COMPLETED}


class UnsupportedPbxEvent(ValueError):
    pass


def fields(raw: RawWebhook) -> dict[str, str]:
    if raw.content_type.startswith("application/json"):
        try:
            value: Any = json.loads(raw.body)
        except ValueError as exc:
            raise UnsupportedPbxEvent(f"pbx body is not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise UnsupportedPbxEvent("pbx body is not a JSON object")
        return {k: (v[0] if isinstance(v, list) and v else str(v)) for k, v in value.items()}
    return {k.removesuffix("[]"): v for k, v in parse_qsl(raw.body, keep_blank_values=True)}


class PbxCalls:
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
        form = fields(raw)
        kind = KINDS.get(form.get("event", ""))
        call_id = form.get("callId") or form.get("call_id")
        if kind is None or not call_id:
            raise UnsupportedPbxEvent(f"pbx event {form.get('event')!r} without a known kind/id")
        at = raw.received_at.timestamp()
        values = {f"{kind.value}_at": str(at)}
        for name in ("from", "to", "direction", "user"):
            if form.get(name):
                values[name] = form[name]
        if form.get("answeringNumber"):
            values["extension"] = form["answeringNumber"]
        state = await self._state(f"telephony:call:{raw.channel_account}:{call_id}", values)
        outbound = state.get("direction") == "out"
        external = state.get("to" if outbound else "from", "")
        number = to_e164(external, config.default_country) or external
        local = (
            state.get("extension") or state.get("user") or state.get("from" if outbound else "to")
        )
        duration = None
        missed = False
        if kind is CallKind.COMPLETED:
            answered = state.get("answered_at")
            ended = float(state.get("completed_at", at))
            duration = max(0, round(ended - float(answered))) if answered else 0
            missed = not answered and not outbound
        return CallEvent(
            idempotency_key=f"pbx:{raw.channel_account}:{call_id}:{kind.value}",
            correlation_id=raw.correlation_id,
            channel_account=raw.channel_account,
            call_id=call_id,
            kind=kind,
            direction="outbound" if outbound else "inbound",
            from_number=(local or "") if outbound else number,
            to_number=number if outbound else (local or ""),
            extension=local or None,
            duration_seconds=duration,
            missed=missed,
            recording_url=form.get("recordingUrl") or None,
            occurred_at=raw.received_at,
        )
