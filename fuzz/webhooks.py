"""atheris on every webhook normaliser behind the gateway: SMS (Twilio inbound, Twilio
status, SMS.ru push), the PBX webhook (JSON and form, then the call event), Simple Calls
frames and events, Telegram, Viber, VK and the web form.

An input is one target byte (which parser, modulo their number) and the body as UTF-8
(what the gateway publishes; invalid bytes replaced). Allowed outcomes: what the parser
returns (records must survive a JSON round trip) or its documented refusal
(``UnsupportedPayload``, ``UnsupportedPbxEvent``, ``BadFrame``, ``ValueError`` from the
web form). Seeds: the payloads the Hypothesis tests start from (``tests/faults``).

    FUZZ_SECONDS=60 .venv/bin/python fuzz/webhooks.py
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, run

with atheris.instrument_imports():
    from helpdesk_common.phone_accounts import PhoneAccountConfig
    from helpdesk_common.records import CallEvent, Channel, InboundMessage, RawWebhook
    from messenger_ingest import sms, telegram, viber, vk, webform
    from messenger_ingest.outcomes import Inbound, UnsupportedPayload
    from telephony import frames, pbx
    from telephony.simple_calls_events import to_call_event

RECEIVED = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PBX_CONFIG = PhoneAccountConfig(kind="pbx_webhook", blocked_numbers=["+79161234567"])
SC_CONFIG = PhoneAccountConfig(kind="simple_calls", url="ws://pbx:10150")
FORM = "application/x-www-form-urlencoded"


def _raw(
    channel: Channel, body: str, content_type: str = "application/json", **headers: str
) -> RawWebhook:
    return RawWebhook(
        channel=channel,
        channel_account="fuzz",
        content_type=content_type,
        headers=headers,
        body=body,
        received_at=RECEIVED,
    )


def _check_inbound(message: InboundMessage) -> None:
    assert InboundMessage.model_validate_json(message.model_dump_json()) == message


def _check_call(call: CallEvent) -> None:
    assert CallEvent.model_validate_json(call.model_dump_json()) == call
    assert "\\u0000" not in call.model_dump_json()


def _sms(kind: str) -> Callable[[str], None]:
    def parse(body: str) -> None:
        try:
            outcomes = sms.parse(_raw(Channel.SMS, body, FORM, **{sms.EVENT_HEADER: kind}))
        except UnsupportedPayload:
            return
        for outcome in outcomes:
            if isinstance(outcome, Inbound):
                _check_inbound(outcome.message)

    return parse


def _pbx(content_type: str) -> Callable[[str], None]:
    def parse(body: str) -> None:
        raw = _raw(Channel.PHONE, body, content_type)
        try:
            event = pbx.parse_event(raw)
        except pbx.UnsupportedPbxEvent:
            return
        _check_call(pbx.call_event(raw, PBX_CONFIG, event, dict(event.values)))

    return parse


def _simple_calls(body: str) -> None:
    try:
        event = frames.parse_event(frames.decode(body, base64_framed=False))
    except frames.BadFrame:
        return
    if event is not None:
        call = to_call_event("sc", SC_CONFIG, event, RECEIVED)
        if call is not None:
            _check_call(call)


def _messenger(channel: Channel, parse: Callable[[RawWebhook], object]) -> Callable[[str], None]:
    def run_parser(body: str) -> None:
        try:
            outcome = parse(_raw(channel, body))
        except UnsupportedPayload:
            return
        if isinstance(outcome, Inbound):
            _check_inbound(outcome.message)

    return run_parser


def _webform(body: str) -> None:
    try:
        message = webform.normalise(_raw(Channel.WEBFORM, body))
    except ValueError:
        return
    _check_inbound(message)


TARGETS: list[Callable[[str], None]] = [
    _sms("inbound"),
    _sms("status"),
    _sms("push"),
    _pbx("application/json"),
    _pbx(FORM),
    _simple_calls,
    _messenger(Channel.TELEGRAM, telegram.parse),
    _messenger(Channel.VIBER, viber.parse),
    _messenger(Channel.VK, vk.parse),
    _webform,
]


def test_one_input(data: bytes) -> None:
    if not data:
        return
    TARGETS[data[0] % len(TARGETS)](data[1:].decode("utf-8", "replace"))


def seeds() -> list[bytes]:
    sys.path.insert(0, str(ROOT / "tests" / "faults"))
    import test_parser_fuzz as messengers
    import test_pbx_webhook_fuzz as pbx_fuzz
    import test_simple_calls_fuzz as simple_calls_fuzz
    import test_sms_fuzz as sms_fuzz

    def seed(target: int, body: str) -> bytes:
        return bytes([target]) + body.encode()

    found = [
        seed(k, urlencode(form))
        for k, kind in enumerate(["inbound", "status", "push"])
        for form in sms_fuzz.SMS_SEEDS[kind]
    ]
    found += [seed(3, json.dumps(value)) for value in pbx_fuzz.PBX_SEEDS]
    found += [
        seed(4, urlencode({k: str(v) for k, v in value.items()})) for value in pbx_fuzz.PBX_SEEDS
    ]
    found += [
        seed(5, simple_calls_fuzz._xml(list(value.items()))) for value in simple_calls_fuzz.SC_SEEDS
    ]
    for target, channel in ((6, Channel.TELEGRAM), (7, Channel.VIBER), (8, Channel.VK)):
        found += [seed(target, json.dumps(value)) for value in messengers.SEEDS[channel]]
    found.append(seed(9, json.dumps({"email": "a@example.com", "text": "help", "fields": {}})))
    return found


if __name__ == "__main__":
    from helpdesk_common import logs

    logs.configure("fuzz", "ERROR")
    run("webhooks", seeds(), test_one_input)
