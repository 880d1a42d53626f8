"""Hypothesis against messenger-ingest's SMS normaliser, in-process: Twilio inbound
SMS/MMS, Twilio status callbacks, SMS.ru pushes.

Random and mutated inputs (fields removed, repeated or replaced by hostile strings, damaged
encodings, NUL, huge values) end as an outcome that survives the broker (JSON round trip)
or as the documented refusal ``UnsupportedPayload``, dead-lettered with its reason, which
must never look transient (the batch would be rewound forever). A sane inbound SMS is never
refused because of junk in the other fields. Reproducible: examples come from
``FAULTS_SEED``; ``FUZZ_EXAMPLES`` scales how many.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import httpx
from faults_helpers import SEED
from fuzz_strategies import BODIES, HOSTILE_TEXT, damaged, mostly, mutated_form
from helpdesk_common.consuming import default_is_transient
from helpdesk_common.records import (
    AttachmentRef,
    Channel,
    DeliveryEvent,
    InboundMessage,
    RawWebhook,
)
from hypothesis import given, seed
from hypothesis import strategies as st
from messenger_ingest import sms
from messenger_ingest.outcomes import Ignored, Inbound, Receipt, UnsupportedPayload
from sms_phone_fuzz_helpers import FORM, FUZZ, RECEIVED

ACCOUNT = "fuzz_sms"
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
