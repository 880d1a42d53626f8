"""Pure parts of the SMS path: Twilio signatures (checked against Twilio's own validator,
behind a proxy too), phone numbers, and the SMS raw-record parser."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from gateway import twilio_signature
from gateway.settings import GatewaySettings
from helpdesk_common.phone_numbers import last_digits, same_number, to_e164
from helpdesk_common.records import DeliveryState, RawWebhook
from messenger_ingest import sms
from messenger_ingest.outcomes import Ignored, Inbound, Receipt, UnsupportedPayload
from starlette.requests import Request
from twilio.request_validator import RequestValidator

TOKEN = "12345"
FORM = [("From", "+79161234567"), ("Body", "Hi"), ("MessageSid", "SM1"), ("To", "+1500")]


def _request(path: str, headers: dict[str, str], scheme: str = "http") -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": scheme,
        "server": ("10.0.0.5", 8080),
        "path": path,
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return Request(scope)


def test_signature_matches_twilios_validator_with_and_without_the_port() -> None:
    url = "https://help.example.com/webhooks/sms/acct"
    expected = RequestValidator(TOKEN).compute_signature(url, dict(FORM))
    assert twilio_signature.signature(TOKEN, url, FORM) == expected
    assert twilio_signature.valid(TOKEN, url, FORM, expected)
    with_port = RequestValidator(TOKEN).compute_signature(
        "https://help.example.com:443/webhooks/sms/acct", dict(FORM)
    )
    assert twilio_signature.valid(TOKEN, url, FORM, with_port)
    assert not twilio_signature.valid(TOKEN, url, [*FORM[:-1], ("To", "+1501")], expected)
    assert not twilio_signature.valid(None, url, FORM, expected)
    assert not twilio_signature.valid(TOKEN, url, FORM, None)


def test_public_url_behind_a_proxy() -> None:
    path = "/webhooks/sms/acct"
    direct = _request(path, {"host": "10.0.0.5:8080"})
    forwarded = _request(
        path,
        {"host": "10.0.0.5:8080", "x-forwarded-proto": "https", "x-forwarded-host": "sms.acme.io"},
    )
    plain = GatewaySettings()
    assert twilio_signature.public_url(direct, plain) == "http://10.0.0.5:8080" + path
    # forwarded headers only count when the proxy is trusted
    assert twilio_signature.public_url(forwarded, plain) == "http://10.0.0.5:8080" + path
    trusting = GatewaySettings(trust_forwarded_host=True)
    assert twilio_signature.public_url(forwarded, trusting) == "https://sms.acme.io" + path
    configured = GatewaySettings(public_base_url="https://help.example.com/desk/")
    assert twilio_signature.public_url(forwarded, configured) == (
        "https://help.example.com/desk" + path
    )


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+7 (916) 123-45-67", "RU", "+79161234567"),
        ("8 916 123 45 67", "RU", "+79161234567"),
        ("79161234567", None, "+79161234567"),
        ("(415) 555-0100", "US", "+14155550100"),
        ("101", "RU", None),
        ("ACME", "RU", None),
    ],
)
def test_e164(raw: str, country: str | None, expected: str | None) -> None:
    assert to_e164(raw, country) == expected


def test_last_digits_matching() -> None:
    assert last_digits("+7 (916) 123-45-67") == "9161234567"
    assert same_number("8 916 123-45-67", "+79161234567")
    assert not same_number("+79161234567", "+79161234568")
    assert same_number("+79161234567", "+19161234567", 10)
    assert not same_number("+79161234567", "+19161234567", 11)


def _raw(kind: str, form: dict[str, str]) -> RawWebhook:
    return RawWebhook(
        channel="sms",
        channel_account="acct",
        content_type="application/x-www-form-urlencoded",
        headers={"x-helpdesk-sms-event": kind},
        body=urlencode(form),
        received_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_inbound_sms_and_mms_are_normalised() -> None:
    form = {
        "MessageSid": "SM1",
        "From": "89161234567",  # a national number as some carriers pass it
        "To": "+15005550006",
        "Body": "Hello",
        "NumMedia": "1",
        "MediaUrl0": "https://api.twilio.com/m/1",
        "MediaContentType0": "image/png",
    }
    [outcome] = sms.parse(_raw("inbound", form), "RU")
    assert isinstance(outcome, Inbound)
    message = outcome.message
    assert message.idempotency_key == "sms:acct:SM1"
    assert message.sender.channel_user_id == message.sender.phone == "+79161234567"
    assert message.thread.conversation_id == "+79161234567"
    assert message.fields["to"] == "+15005550006" and message.text == "Hello"
    assert [(m.ref, m.content_type, m.filename) for m in outcome.media] == [
        ("https://api.twilio.com/m/1", "image/png", "mms_SM1_0.png")
    ]


def test_status_callbacks_and_smsru_pushes() -> None:
    [delivered] = sms.parse(_raw("status", {"MessageSid": "SM1", "MessageStatus": "delivered"}))
    assert isinstance(delivered, Receipt) and delivered.state is DeliveryState.DELIVERED
    [queued] = sms.parse(_raw("status", {"MessageSid": "SM1", "MessageStatus": "queued"}))
    assert isinstance(queued, Ignored)
    push = {
        "data[0]": "sms_status\n000-1\n103\n1767225600",
        "data[1]": "sms_status\n000-2\n106\n1767225601",
        "data[2]": "callcheck_status\n1\n401",
    }
    outcomes = sms.parse(_raw("push", push))
    assert [(o.provider_message_id, o.state) for o in outcomes if isinstance(o, Receipt)] == [
        ("000-1", DeliveryState.DELIVERED),
        ("000-2", DeliveryState.FAILED),
    ]
    with pytest.raises(UnsupportedPayload):
        sms.parse(_raw("inbound", {"Body": "no sid"}))
    with pytest.raises(UnsupportedPayload):
        sms.parse(_raw("other", {}))
