"""Pure parts of telephony: Simple Calls framing and events, PBX webhook bodies."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from helpdesk_common.phone_accounts import PhoneAccountConfig, check_phone_account
from helpdesk_common.records import CallKind, RawWebhook
from telephony import frames, pbx
from telephony.simple_calls_events import to_call_event

CONFIG = PhoneAccountConfig(kind="simple_calls", url="ws://pbx:10150", extensions={"101": 7})
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_frames_base64_over_ws_plain_over_wss() -> None:
    xml = '<Event type="2" callID="c1" from="89161234567" to="101"/>'
    framed = base64.b64encode((xml + "\0").encode()).decode()
    assert frames.decode(framed, base64_framed=True) == xml
    assert frames.decode(xml + "\0", base64_framed=False) == xml
    assert frames.parse_event(xml) == {
        "type": "2",
        "callID": "c1",
        "from": "89161234567",
        "to": "101",
    }
    assert frames.parse_event("<Response/>") is None
    with pytest.raises(frames.BadFrame):
        frames.parse_event("not xml")
    request = frames.call_request(3, "101", "+7 343 <0112233>")
    assert "<To>+7 343 &lt;0112233&gt;</To>" in request
    assert frames.encode(request, base64_framed=False) == request


def test_simple_calls_events() -> None:
    ringing = to_call_event(
        "sc", CONFIG, {"type": "2", "callID": "c1", "from": "89161234567", "to": "101"}, NOW
    )
    assert ringing is not None and ringing.kind is CallKind.RINGING
    assert (ringing.from_number, ringing.extension) == ("+79161234567", "101")
    outgoing = to_call_event(
        "sc",
        CONFIG,
        {
            "type": "4",
            "callID": "c2",
            "from": "101",
            "to": "3430112233",
            "direction": "1",
            "duration": "30",
            "end": "1767225600",
            "missed": "0",
            "record": "",
        },
        NOW,
    )
    assert outgoing is not None and outgoing.direction == "outbound"
    assert (outgoing.to_number, outgoing.duration_seconds) == ("+73430112233", 30)
    assert outgoing.partition_key() == "phone:+73430112233"
    assert outgoing.idempotency_key == "simplecalls:sc:c2:completed"
    assert to_call_event("sc", CONFIG, {"type": "128", "callID": "c3"}, NOW) is None
    assert CONFIG.extension_of(7) == "101" and CONFIG.extension_of(8) is None


def test_pbx_bodies_and_account_checks() -> None:
    json_raw = RawWebhook(
        channel="phone",
        channel_account="p",
        content_type="application/json",
        body='{"event": "newCall", "callId": "1", "user": ["Anna"]}',
    )
    assert pbx.fields(json_raw) == {"event": "newCall", "callId": "1", "user": "Anna"}
    form_raw = json_raw.model_copy(
        update={
            "content_type": "application/x-www-form-urlencoded",
            "body": "event=hangup&user%5B%5D=Bob",
        }
    )
    assert pbx.fields(form_raw) == {"event": "hangup", "user": "Bob"}
    with pytest.raises(ValueError, match=r"config\.url"):
        check_phone_account({"kind": "simple_calls"}, {"password": "x"})
    with pytest.raises(ValueError, match="webhook_token"):
        check_phone_account({"kind": "pbx_webhook"}, {})
