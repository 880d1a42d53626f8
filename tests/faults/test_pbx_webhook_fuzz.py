"""Hypothesis against telephony's generic PBX webhook parser and the gateway's PBX
blocked-caller check (which reads the body after it was published), in-process.

Mutated JSON or form webhooks, damaged encodings and junk end as call events that survive
the broker, or as the documented refusal ``UnsupportedPbxEvent``, dead-lettered with its
reason and never transient; the blocked check never raises (it would be a 500). An event
with a kind and a call id is never refused for junk in the other fields. Reproducible:
examples come from ``FAULTS_SEED``; ``FUZZ_EXAMPLES`` scales how many.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from faults_helpers import SEED
from fuzz_strategies import BODIES, JSON, damaged, mutated, mutated_form
from gateway.pbx_routes import blocked
from helpdesk_common.consuming import default_is_transient
from helpdesk_common.phone_accounts import PhoneAccountConfig
from helpdesk_common.records import (
    Channel,
    RawWebhook,
)
from hypothesis import given, seed
from hypothesis import strategies as st
from sms_phone_fuzz_helpers import FORM, FUZZ, FUZZ_SLOW, RECEIVED, check_call_event
from telephony import pbx

PBX_SEEDS: list[dict[str, Any]] = [
    {"event": "newCall", "callId": "c-1", "from": "89161234567", "to": "4950000000"},
    {
        "event": "answer",
        "callId": "c-1",
        "from": "89161234567",
        "to": "4950000000",
        "direction": "in",
        "answeringNumber": "102",
    },
    {"event": "hangup", "callId": "c-1", "cause": "normalClearing", "recordingUrl": "https://r"},
    {"event": "newCall", "callId": 77, "from": "101", "to": "+73430112233", "direction": "out"},
    {"event": "hangup", "call_id": "c-2", "user": ["Anna"], "direction": "out"},
]
PBX_CONFIG = PhoneAccountConfig(kind="pbx_webhook", blocked_numbers=["+79161234567"])


def _pbx_form(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs)


@st.composite
def pbx_records(draw: st.DrawFn) -> RawWebhook:
    """A PBX webhook as JSON (mutated at any depth) or as a form, or junk."""
    flat = [{k: str(v[0] if isinstance(v, list) else v) for k, v in s.items()} for s in PBX_SEEDS]
    json_body = mutated(PBX_SEEDS).map(json.dumps) | mutated(PBX_SEEDS).map(
        lambda v: json.dumps(v, ensure_ascii=False)
    )
    form_body = mutated_form(flat).map(_pbx_form)
    body, content_type = draw(
        st.tuples(json_body, st.just("application/json"))
        | st.tuples(form_body, st.just(FORM))
        | st.tuples(form_body.flatmap(damaged), st.just(FORM))
        | st.tuples(
            BODIES | st.sampled_from(['{"event": "newCall", "callId": "\\ud800"}']),
            st.sampled_from(["application/json", "application/json; charset=utf-8", FORM, ""]),
        )
    )
    return RawWebhook(
        channel=Channel.PHONE,
        channel_account="fuzz_pbx",
        content_type=content_type,
        body=body,
        received_at=RECEIVED,
    )


def progress(state: dict[str, str], values: dict[str, str]) -> dict[str, str]:
    """The call's progress as ``PbxCalls`` keeps it in Redis: first value wins."""
    for name, value in values.items():
        state.setdefault(name, value)
    return dict(state)


@FUZZ_SLOW
@seed(SEED)
@given(st.lists(pbx_records(), min_size=1, max_size=3))
def test_pbx_webhooks_end_as_call_events_or_documented_refusals(raws: list[RawWebhook]) -> None:
    """A few webhooks of one call (they share its progress, as in Redis)."""
    state: dict[str, str] = {}
    for raw in raws:
        try:
            event = pbx.parse_event(raw)
        except pbx.UnsupportedPbxEvent as exc:
            assert not default_is_transient(exc)
            continue
        # The values go into Redis: they must be strings it can store and give back.
        for name, value in event.values.items():
            assert isinstance(name, str) and isinstance(value, str)
            value.encode("utf-8")
        call = pbx.call_event(raw, PBX_CONFIG, event, progress(state, event.values))
        check_call_event(call)
        assert call.kind is event.kind


@FUZZ_SLOW
@seed(SEED)
@given(pbx_records())
def test_gateway_blocked_check_never_raises(raw: RawWebhook) -> None:
    """The gateway answers the PBX after publishing: a crash here would be a 500."""
    result = blocked(PBX_CONFIG.model_dump(), raw.body.encode(), raw.content_type)
    assert isinstance(result, bool)


@FUZZ
@seed(SEED)
@given(
    st.sampled_from(["newCall", "answer", "hangup"]),
    st.from_regex(r"\A[A-Za-z0-9-]{1,64}\Z"),
    st.dictionaries(st.sampled_from(["from", "to", "direction", "user", "x"]), JSON, max_size=4),
)
def test_pbx_event_with_a_kind_and_an_id_is_never_refused(
    kind: str, call_id: str, junk: dict[str, Any]
) -> None:
    """Junk in the other fields (null, numbers, objects) does not lose the call."""
    raw = RawWebhook(
        channel=Channel.PHONE,
        channel_account="fuzz_pbx",
        content_type="application/json",
        body=json.dumps({**junk, "event": kind, "callId": call_id}),
        received_at=RECEIVED,
    )
    event = pbx.parse_event(raw)
    assert event.call_id == call_id
    check_call_event(pbx.call_event(raw, PBX_CONFIG, event, progress({}, event.values)))
