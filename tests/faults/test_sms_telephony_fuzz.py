"""Hypothesis against the SMS and telephony parsers, in-process: messenger-ingest's SMS
normaliser (Twilio inbound SMS/MMS, Twilio status callbacks, SMS.ru pushes), telephony's
PBX webhook parser and Simple Calls frame and event parsers, and the gateway's PBX
blocked-caller check (which reads the body after it was published).

Random and mutated inputs (fields removed, repeated or replaced by hostile strings, damaged
encodings, NUL, huge values) end as an outcome that survives the broker (JSON round trip)
or as the module's documented refusal: ``UnsupportedPayload`` (SMS) and
``UnsupportedPbxEvent`` (PBX) are dead-lettered with their reason and must never look
transient (the batch would be rewound forever); a Simple Calls frame is a ``BadFrame``
(logged and skipped) or an event, and an event a ``CallEvent`` or ``None`` (ignored),
since an exception there would drop the WebSocket. What a sane payload says is never
refused because of junk in the other fields. Reproducible: examples come from
``FAULTS_SEED``; ``FUZZ_EXAMPLES`` scales how many.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import quoteattr

import httpx
from faults_helpers import SEED
from fuzz_strategies import BODIES, HOSTILE_TEXT, JSON, damaged, mostly, mutated, mutated_form
from gateway.pbx_routes import blocked
from helpdesk_common.consuming import default_is_transient
from helpdesk_common.phone_accounts import PhoneAccountConfig
from helpdesk_common.records import (
    AttachmentRef,
    CallEvent,
    CallKind,
    Channel,
    DeliveryEvent,
    InboundMessage,
    RawWebhook,
)
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from messenger_ingest import sms
from messenger_ingest.outcomes import Ignored, Inbound, Receipt, UnsupportedPayload
from telephony import frames, pbx
from telephony.simple_calls_events import to_call_event

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
FUZZ_SLOW = settings(FUZZ, max_examples=max(EXAMPLES // 3, 10))  # strategies costly to draw
ACCOUNT = "fuzz_sms"
RECEIVED = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded"
SANE_SID = re.compile(r"^[A-Za-z0-9]{1,64}$")

TWILIO_INBOUND = {
    "MessageSid": "SM0123456789abcdef0123456789abcdef",
    "SmsSid": "SM0123456789abcdef0123456789abcdef",
    "AccountSid": "AC0123",
    "From": "+79161234567",
    "To": "+15005550006",
    "Body": "Heating is off",
    "NumMedia": "0",
    "NumSegments": "1",
    "FromCountry": "RU",
}
TWILIO_MMS = {
    **TWILIO_INBOUND,
    "From": "8 916 123-45-67",
    "NumMedia": "2",
    "MediaUrl0": "https://api.twilio.com/m/0",
    "MediaContentType0": "image/jpeg",
    "MediaUrl1": "https://api.twilio.com/m/1",
    "MediaContentType1": "application/pdf",
}
SMS_SEEDS: dict[str, list[dict[str, str]]] = {
    "inbound": [TWILIO_INBOUND, TWILIO_MMS, {**TWILIO_INBOUND, "From": "ACME"}],
    "status": [
        {"MessageSid": "SM1", "MessageStatus": "delivered", "To": "+79161234567"},
        {"SmsSid": "SM2", "SmsStatus": "undelivered", "ErrorCode": "30003", "ErrorMessage": "x"},
        {"MessageSid": "SM3", "MessageStatus": "queued"},
    ],
    "push": [
        {
            "data[0]": "sms_status\n000-1\n103\n1767225600",
            "data[1]": "sms_status\n000-2\n106\n1767225601",
            "data[2]": "callcheck_status\n1\n401",
        },
        {"data[0]": "sms_status\n000-3\n102"},
    ],
}
KINDS = st.sampled_from(["inbound", "status", "push"])
SMSRU_LINES = st.tuples(
    mostly(["sms_status", "callcheck_status"]),
    mostly(["000-1", "202-7"]),
    mostly(["103", "106", "100", "-5"]),
    mostly(["1767225600", "-1", "10000000000000", "99999999999999999999"]),
    st.integers(1, 5),
).map(lambda line: "\n".join(line[:4][: line[4]]))  # cut after 1-4 parts
SMSRU_PUSHES = st.lists(SMSRU_LINES, min_size=1, max_size=3).map(
    lambda values: [(f"data[{n}]", value) for n, value in enumerate(values)]
)


def sms_raw(kind: str | None, body: str) -> RawWebhook:
    headers = {} if kind is None else {sms.EVENT_HEADER: kind}
    return RawWebhook(
        channel=Channel.SMS,
        channel_account=ACCOUNT,
        content_type=FORM,
        headers=headers,
        body=body,
        received_at=RECEIVED,
    )


def _encoded(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs)


@st.composite
def sms_records(draw: st.DrawFn) -> tuple[str | None, str]:
    """(event kind header, body): a mutated form of its kind, a damaged encoding of one,
    a form of another kind, or no form at all."""
    kind = draw(KINDS)
    form = draw(mutated_form(SMS_SEEDS[kind]))
    body = draw(
        st.just(_encoded(form))
        | damaged(_encoded(form))
        | mutated_form(SMS_SEEDS[draw(KINDS)]).map(_encoded)
        | SMSRU_PUSHES.map(_encoded)
        | BODIES
    )
    header = draw(st.just(kind) | st.sampled_from([None, "", "INBOUND", "push\x00"]))
    return header, body


def check_sms(kind: str | None, body: str) -> list[object]:
    raw = sms_raw(kind, body)
    try:
        outcomes = sms.parse(raw, "RU")
    except UnsupportedPayload as exc:
        assert not default_is_transient(exc)
        assert str(exc)  # the dead letter's reason
        return []
    assert outcomes
    for outcome in outcomes:
        assert isinstance(outcome, Inbound | Receipt | Ignored)
        if isinstance(outcome, Inbound):
            message = outcome.message
            # Published and read back by ticket-core: it must survive the trip unchanged.
            assert InboundMessage.model_validate_json(message.model_dump_json()) == message
            assert message.idempotency_key.startswith(f"sms:{ACCOUNT}:")
            assert message.partition_key()
            for media in outcome.media:  # what the handler records for each file
                AttachmentRef(filename=media.filename, content_type=media.content_type, size=0)
                if sms.unusable_media_url(media.ref) is None:  # else recorded as skipped
                    url = httpx.URL(media.ref)
                    assert url.scheme in ("http", "https") and url.host
        elif isinstance(outcome, Receipt):
            # As SmsHandler turns it into a delivery event.
            event = DeliveryEvent(
                outbound_id="o1",
                state=outcome.state,
                reason=outcome.reason,
                provider_message_id=outcome.provider_message_id,
                occurred_at=outcome.occurred_at,
            )
            assert DeliveryEvent.model_validate_json(event.model_dump_json()) == event
    return outcomes


@FUZZ
@seed(SEED)
@given(sms_records())
def test_sms_normaliser_on_mutated_and_random_records(record: tuple[str | None, str]) -> None:
    check_sms(*record)


@FUZZ
@seed(SEED)
@given(st.data())
def test_sane_inbound_sms_is_never_refused_for_junk_in_other_fields(data: st.DataObject) -> None:
    """An SMS with a Twilio-like MessageSid and a sender is a message, whatever else the
    form carries (media fields, counts, unknown names): it is not parked."""
    pairs = data.draw(mutated_form(SMS_SEEDS["inbound"]))
    form = dict(pairs)
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid") or ""
    sender = form.get("From", "")
    sane_sender = 0 < len(sender.strip()) <= 64 and "\x00" not in sender
    if not (SANE_SID.match(sid) and sane_sender):
        return
    [outcome] = check_sms("inbound", _encoded(pairs))
    assert isinstance(outcome, Inbound)
    assert outcome.message.text == form.get("Body", "").replace("\x00", "")


@FUZZ
@seed(SEED)
@given(
    mostly(["SM0123456789abcdef0123456789abcdef", "MM1"]),
    mostly(["+79161234567", "8 916 123-45-67", "ACME", "12345"]),
    HOSTILE_TEXT,
    KINDS,
)
def test_twilio_ids_and_senders(sid: str, sender: str, body: str, kind: str) -> None:
    form = {"MessageSid": sid, "From": sender, "Body": body, "MessageStatus": "failed"}
    check_sms(kind, _encoded(list(form.items())))


@FUZZ
@seed(SEED)
@given(SMSRU_PUSHES)
def test_smsru_pushes(pairs: list[tuple[str, str]]) -> None:
    outcomes = check_sms("push", _encoded(pairs))
    if outcomes:
        assert len(outcomes) == len(pairs)  # one outcome per status line


# --- telephony: the generic PBX webhook ---

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


def check_call_event(call: CallEvent) -> None:
    # Published and read back by ticket-core, whose messages are PostgreSQL text (no NUL).
    assert CallEvent.model_validate_json(call.model_dump_json()) == call
    assert "\\u0000" not in call.model_dump_json()
    assert call.partition_key()
    assert call.duration_seconds is None or call.duration_seconds >= 0


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


# --- telephony: Simple Calls frames and events ---

SC_CONFIG = PhoneAccountConfig(kind="simple_calls", url="ws://pbx:10150")
SC_SEEDS: list[dict[str, str]] = [
    {"type": "2", "callID": "c1", "from": "89161234567", "to": "101"},
    {"type": "32", "callID": "c1", "from": "89161234567", "to": "101"},
    {"type": "16", "callID": "c2", "from": "101", "to": "3430112233"},
    {
        "type": "4",
        "callID": "c2",
        "from": "101",
        "to": "3430112233",
        "direction": "1",
        "start": "1767225570",
        "end": "1767225600",
        "duration": "30",
        "missed": "0",
        "record": "https://pbx.example.com/rec/1.mp3",
    },
    {"type": "4", "callID": "c3", "from": "89161234567", "to": "101", "missed": "1"},
]
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
    + ']><Event type="2" callID="&i;"/>'
)


def _xml(attrs: list[tuple[str, str]]) -> str:
    names = [n for n, _ in attrs]
    if any(not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", n) for n in names):
        return "<Event " + " ".join(f"{n}={quoteattr(v)}" for n, v in attrs) + "/>"
    unique = dict(attrs)  # XML refuses a repeated attribute: keep the last
    return "<Event " + " ".join(f"{n}={quoteattr(v)}" for n, v in unique.items()) + "/>"


FRAMES = st.one_of(
    mutated_form(SC_SEEDS).map(_xml),
    mutated_form(SC_SEEDS).map(_xml).flatmap(damaged),
    st.sampled_from(
        [
            BILLION_LAUGHS,
            '<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><Event callID="&x;"/>',
            '<Event type="2" callID="&#0;"/>',
            "<Response/>",
            "<Event>" * 5000,
            "",
        ]
    ),
    st.text(max_size=200),
)


@FUZZ
@seed(SEED)
@given(FRAMES, st.booleans())
def test_simple_calls_frames_and_events(xml: str, base64_framed: bool) -> None:
    frame = frames.encode(xml + "\0", base64_framed=base64_framed)
    try:
        event = frames.parse_event(frames.decode(frame, base64_framed=base64_framed))
    except frames.BadFrame:
        return  # logged, the connection reads on
    if event is None:
        return
    call = to_call_event("sc", SC_CONFIG, event, RECEIVED)
    if call is not None:
        check_call_event(call)


@FUZZ
@seed(SEED)
@given(st.binary(max_size=300) | st.text(max_size=300), st.booleans())
def test_simple_calls_raw_frames_are_events_or_bad_frames(
    frame: bytes | str, base64_framed: bool
) -> None:
    try:
        frames.parse_event(frames.decode(frame, base64_framed=base64_framed))
    except frames.BadFrame:
        pass


@FUZZ
@seed(SEED)
@given(
    st.sampled_from(["2", "4", "16", "32"]),
    st.from_regex(r"\A[A-Za-z0-9-]{1,64}\Z"),
    st.dictionaries(
        st.sampled_from(["from", "to", "direction", "start", "end", "duration", "missed"]),
        HOSTILE_TEXT,
    ),
)
def test_simple_calls_call_with_a_type_and_an_id_is_never_dropped(
    kind: str, call_id: str, junk: dict[str, str]
) -> None:
    call = to_call_event("sc", SC_CONFIG, {**junk, "type": kind, "callID": call_id}, RECEIVED)
    assert call is not None and call.call_id == call_id
    check_call_event(call)
    expected = {"2": CallKind.RINGING, "4": CallKind.COMPLETED}.get(kind, CallKind.ANSWERED)
    assert call.kind is expected
