"""Hypothesis against telephony's Simple Calls frame and event parsers, in-process.

A frame is a ``BadFrame`` (logged and skipped) or an event, and an event a ``CallEvent``
(which survives the broker) or ``None`` (ignored), since an exception there would drop the
WebSocket; hostile XML (entity bombs, external entities, deep nesting) included. A call
with a type and an id is never dropped. Reproducible: examples come from ``FAULTS_SEED``;
``FUZZ_EXAMPLES`` scales how many.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import quoteattr

from faults_helpers import SEED
from fuzz_strategies import HOSTILE_TEXT, damaged, mutated_form
from helpdesk_common.phone_accounts import PhoneAccountConfig
from helpdesk_common.records import CallKind
from hypothesis import given, seed
from hypothesis import strategies as st
from sms_phone_fuzz_helpers import FUZZ, RECEIVED, check_call_event
from telephony import frames
from telephony.simple_calls_events import to_call_event

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
