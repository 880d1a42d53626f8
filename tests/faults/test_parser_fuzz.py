"""Hypothesis against the pure parsers, in-process: every webhook normaliser of
messenger-ingest (Telegram, Viber, VK) and the web-form path (gateway parsing and
validation, messenger-ingest's normaliser).

Random and mutated inputs never crash: each ends as a parsed record that survives the
broker (JSON round trip), or as the documented refusal: ``UnsupportedPayload`` from a
messenger parser (the batch machinery dead-letters it with its reason; it must never
look transient, or the batch would be rewound forever), a ``ValueError`` (pydantic's
``ValidationError``, ``InvalidSubmission``) from the web form, which the gateway answers
with 422. Reproducible: the examples are drawn from ``FAULTS_SEED``; ``FUZZ_EXAMPLES``
scales how many.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from faults_helpers import SEED, telegram_update
from fuzz_strategies import BODIES, FUZZ, JSON, body_of, mutated
from gateway.webform import build_raw_record, parse_fields
from helpdesk_common.consuming import default_is_transient
from helpdesk_common.records import Channel, InboundMessage, RawWebhook
from helpdesk_common.webform import WebformSubmission
from hypothesis import given, seed
from hypothesis import strategies as st
from messenger_ingest import telegram, viber, vk
from messenger_ingest import webform as webform_normaliser
from messenger_ingest.outcomes import Ignored, Inbound, Reachability, Receipt, UnsupportedPayload

ACCOUNT = "fuzz_bot"
USER = 4242


def _viber(event: str, **fields: Any) -> dict[str, Any]:
    return {"event": event, "timestamp": 1_790_000_000_000, "message_token": 5_123, **fields}


def _vk(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "object": obj, "group_id": 77, "event_id": "e1f2", "v": "5.199"}


_VK_MESSAGE = {
    "date": 1_790_000_000,
    "from_id": 5,
    "id": 10,
    "peer_id": 5,
    "text": "hi",
    "conversation_message_id": 10,
    "attachments": [
        {"type": "photo", "photo": {"id": 1, "sizes": [{"url": "https://x/p", "width": 8}]}},
        {"type": "doc", "doc": {"id": 2, "url": "https://x/d", "title": "a", "ext": "pdf"}},
        {"type": "audio_message", "audio_message": {"id": 3, "link_ogg": "https://x/o"}},
        {"type": "sticker", "sticker": {}},
    ],
    "reply_message": {"conversation_message_id": 9},
}
_PHOTO = [{"file_id": "p", "file_unique_id": "pu", "width": 90, "height": 60, "file_size": 9}]
_BOT = {"id": 1, "is_bot": True, "first_name": "B"}

# Valid payloads of every shape each parser handles: the seeds that mutations start from.
SEEDS: dict[Channel, list[dict[str, Any]]] = {
    Channel.TELEGRAM: [
        telegram_update(1, USER, "hello"),
        telegram_update(2, USER, "", photo=_PHOTO, caption="c", media_group_id="9"),
        telegram_update(3, USER, "", contact={"phone_number": "+7916", "first_name": "I"}),
        telegram_update(4, USER, "", location={"latitude": 55.7, "longitude": 37.6}),
        telegram_update(
            5,
            USER,
            "",
            document={"file_id": "d", "file_unique_id": "du", "file_name": "a.pdf"},
            reply_to_message={"message_id": 1, "date": 1, "chat": {"id": USER, "type": "private"}},
        ),
        {
            "update_id": 6,
            "edited_message": {**telegram_update(6, USER, "e")["message"], "edit_date": 9},
        },
        {
            "update_id": 7,
            "my_chat_member": {
                "chat": {"id": USER, "type": "private"},
                "from": {"id": USER, "is_bot": False, "first_name": "I"},
                "date": 1,
                "old_chat_member": {"status": "member", "user": _BOT},
                "new_chat_member": {"status": "kicked", "user": _BOT, "until_date": 0},
            },
        },
    ],
    Channel.VIBER: [
        _viber("message", sender={"id": "U1=", "name": "O"}, message={"type": "text", "text": "x"}),
        _viber(
            "message",
            sender={"id": "U1="},
            message={"type": "picture", "media": "https://x/p.jpg", "size": 5, "text": "c"},
        ),
        _viber(
            "message",
            sender={"id": "U1="},
            message={"type": "contact", "contact": {"name": "A", "phone_number": "7916"}},
        ),
        _viber(
            "message",
            sender={"id": "U1="},
            message={"type": "location", "location": {"lat": 1.5, "lon": 2.5}},
        ),
        _viber("delivered", user_id="U1="),
        _viber("failed", user_id="U1=", desc="no"),
        _viber("subscribed", user={"id": "U1="}),
        _viber("unsubscribed", user_id="U1="),
        _viber("conversation_started", user={"id": "U1="}, subscribed=False),
    ],
    Channel.VK: [
        _vk("message_new", {"message": _VK_MESSAGE, "client_info": {"keyboard": True}}),
        _vk("message_new", {**_VK_MESSAGE, "peer_id": 2_000_000_001}),
        _vk("message_edit", {**_VK_MESSAGE, "update_time": 1_790_000_100}),
        _vk("message_reply", _VK_MESSAGE),
        _vk("message_allow", {"user_id": 5}),
        _vk("message_deny", {"user_id": 5}),
    ],
}
PARSERS: dict[Channel, Callable[[RawWebhook], object]] = {
    Channel.TELEGRAM: telegram.parse,
    Channel.VIBER: viber.parse,
    Channel.VK: vk.parse,
}


def check_messenger(channel: Channel, body: str) -> None:
    raw = RawWebhook(channel=channel, channel_account=ACCOUNT, body=body)
    try:
        outcome = PARSERS[channel](raw)
    except UnsupportedPayload as exc:
        assert not default_is_transient(exc)
        return
    assert isinstance(outcome, Inbound | Receipt | Reachability | Ignored)
    if isinstance(outcome, Inbound):
        message = outcome.message
        # It will be published and read back: it must survive the trip unchanged.
        assert InboundMessage.model_validate_json(message.model_dump_json()) == message
        assert message.idempotency_key.startswith(f"{channel.value}:{ACCOUNT}:")
        assert message.partition_key()


@FUZZ
@seed(SEED)
@given(st.data())
def test_telegram_parser(data: st.DataObject) -> None:
    body = data.draw(mutated(SEEDS[Channel.TELEGRAM]).map(body_of) | BODIES)
    check_messenger(Channel.TELEGRAM, body)


@FUZZ
@seed(SEED)
@given(st.data())
def test_viber_parser(data: st.DataObject) -> None:
    body = data.draw(mutated(SEEDS[Channel.VIBER]).map(body_of) | BODIES)
    check_messenger(Channel.VIBER, body)


@FUZZ
@seed(SEED)
@given(st.data())
def test_vk_parser(data: st.DataObject) -> None:
    body = data.draw(mutated(SEEDS[Channel.VK]).map(body_of) | BODIES)
    check_messenger(Channel.VK, body)


def test_the_seeds_are_understood() -> None:
    """The mutations start from payloads the parsers accept (else the fuzz is shallow)."""
    for channel, seeds in SEEDS.items():
        for value in seeds:
            raw = RawWebhook(channel=channel, channel_account=ACCOUNT, body=json.dumps(value))
            PARSERS[channel](raw)  # raises if a seed is not understood


FIELD_NAMES = st.sampled_from(["name", "email", "phone", "subject", "text"]) | st.text(max_size=8)
FIELD_VALUES = (
    st.sampled_from(["anna@example.com", "+7 (916) 123-45-67", "x", "", " ", "\x00", "\ud800"])
    | st.emails().map(str)
    | st.text(max_size=40)
    | JSON
)
FORMS = st.dictionaries(FIELD_NAMES, FIELD_VALUES, max_size=8).map(
    lambda fields: (
        {"text": "help", "email": "a@example.com", **fields}
        if len(fields) % 3 == 0  # a third start from a valid submission
        else fields
    )
)


FORM_TYPE = "application/x-www-form-urlencoded"


def _urlencoded(fields: dict[str, Any]) -> str:
    pairs = {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
    return urlencode(pairs, encoding="utf-8", errors="surrogatepass")


def _json_bytes(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields).encode("utf-8", "surrogatepass")


WEBFORM_BODIES = st.one_of(
    st.tuples(FORMS.map(_json_bytes), st.just("application/json")),
    st.tuples(FORMS.map(_urlencoded).map(str.encode), st.just(FORM_TYPE)),
    st.tuples(
        st.binary(max_size=300) | BODIES.map(str.encode),
        st.sampled_from(["application/json", FORM_TYPE, "text/plain", ""]),
    ),
)


@FUZZ
@seed(SEED)
@given(WEBFORM_BODIES)
def test_webform_parsing_ends_as_a_record_or_a_422(posted: tuple[bytes, str]) -> None:
    """The gateway's steps (parse, validate, build the raw record), the broker's (JSON
    both ways) and messenger-ingest's (normalise)."""
    body, content_type = posted
    try:
        submission = WebformSubmission.from_fields(parse_fields(body, content_type))
    except ValueError:  # InvalidSubmission, pydantic's ValidationError: the gateway's 422
        return
    record = build_raw_record("fuzz", submission, raw_id=None, correlation_id="c", source_ip=None)
    wire = RawWebhook.model_validate_json(record.model_dump_json())
    message = webform_normaliser.normalise(wire)
    assert InboundMessage.model_validate_json(message.model_dump_json()) == message
    assert message.idempotency_key == f"webform:fuzz:{record.raw_id}"
    assert message.sender.channel_user_id in (submission.email, submission.phone)
    assert message.text.startswith(submission.text)


@FUZZ
@seed(SEED)
@given(BODIES | FORMS.map(json.dumps))
def test_webform_normaliser_on_any_raw_body(body: str) -> None:
    """A raw record that did not come through the gateway (or was damaged on the way):
    a message, or a ValueError the batch machinery dead-letters."""
    raw = RawWebhook(channel=Channel.WEBFORM, channel_account="fuzz", body=body)
    try:
        message = webform_normaliser.normalise(raw)
    except ValueError as exc:
        assert not default_is_transient(exc)
        return
    assert InboundMessage.model_validate_json(message.model_dump_json()) == message
