"""The broker contracts: records (helpdesk_common.records) and the topic catalogue (topics)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from helpdesk_common.records import (
    ALL_RECORDS,
    AttachmentRef,
    BlobRef,
    CallEvent,
    CallKind,
    Channel,
    DeliveryEvent,
    DeliveryState,
    InboundMessage,
    OutboundMessage,
    RawWebhook,
    Record,
    SenderIdentity,
    ThreadHints,
    TicketEvent,
    TicketEventKind,
)
from helpdesk_common.topics import (
    ALL_TOPICS,
    DLQ_SUFFIX,
    INBOUND_MESSAGES,
    RAW_CHANNELS,
    all_topic_specs,
    raw_topic,
)
from pydantic import ValidationError

SHA = "ab" * 32
WHEN = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)


def inbound(**overrides: object) -> InboundMessage:
    values: dict[str, object] = {
        "idempotency_key": "telegram:bot1:update:42",
        "channel": Channel.TELEGRAM,
        "channel_account": "bot1",
        "sender": SenderIdentity(channel_user_id="123456", display_name="Ann"),
        "thread": ThreadHints(conversation_id="123456", references=("<a@x>", "<b@x>")),
        "subject": "Printer broken",
        "text": "It is on fire",
        "attachments": (
            AttachmentRef(
                filename="a.png",
                content_type="image/png",
                size=3,
                blob=BlobRef(sha256=SHA, size=3, content_type="image/png"),
            ),
        ),
        "fields": {"order": "77"},
        "sent_at": WHEN,
        "received_at": WHEN,
    }
    values.update(overrides)
    return InboundMessage(**values)  # type: ignore[arg-type]


def call(direction: str = "inbound") -> CallEvent:
    return CallEvent(
        idempotency_key="simplecalls:c1:ringing",
        channel_account="pbx",
        call_id="c1",
        kind=CallKind.RINGING,
        direction=direction,  # type: ignore[arg-type]
        from_number="+15550001111",
        to_number="+15550002222",
        occurred_at=WHEN,
    )


def samples() -> list[Record]:
    return [
        inbound(),
        call(),
        TicketEvent(
            kind=TicketEventKind.STATUS_CHANGED,
            ticket_id=7,
            ticket_number=1007,
            channel=Channel.EMAIL,
            status="resolved",
            previous_status="open",
            occurred_at=WHEN,
        ),
        OutboundMessage(
            ticket_id=7,
            channel=Channel.SMS,
            channel_account="twilio",
            recipient="+15550001111",
            text="Hi",
            references=("<m@x>",),
        ),
        DeliveryEvent(
            outbound_id="o1", state=DeliveryState.FAILED, reason="bounced", occurred_at=WHEN
        ),
        RawWebhook(
            channel=Channel.VIBER,
            channel_account="acc",
            headers={"x-sig": "s"},
            body='{"event":"message"}',
            received_at=WHEN,
        ),
    ]


def test_samples_cover_every_record_type() -> None:
    assert {type(r) for r in samples()} == set(ALL_RECORDS)


@pytest.mark.parametrize("record", samples(), ids=lambda r: type(r).__name__)
def test_json_round_trip_is_equal(record: Record) -> None:
    text = record.model_dump_json()
    back = type(record).model_validate_json(text)
    assert back == record
    assert back.model_dump_json() == text
    assert json.loads(text)["schema_version"] == 1


@pytest.mark.parametrize("record", samples(), ids=lambda r: type(r).__name__)
def test_unknown_field_is_rejected(record: Record) -> None:
    data = json.loads(record.model_dump_json())
    data["surprise"] = "x"
    with pytest.raises(ValidationError, match="surprise"):
        type(record).model_validate_json(json.dumps(data))


def test_unknown_field_in_nested_model_is_rejected() -> None:
    data = json.loads(inbound().model_dump_json())
    data["sender"]["nickname"] = "annie"
    with pytest.raises(ValidationError, match="nickname"):
        InboundMessage.model_validate_json(json.dumps(data))


@pytest.mark.parametrize("version", [0, 2, "1.1", None])
@pytest.mark.parametrize("record", samples(), ids=lambda r: type(r).__name__)
def test_wrong_schema_version_is_rejected(record: Record, version: object) -> None:
    data = json.loads(record.model_dump_json())
    data["schema_version"] = version
    with pytest.raises(ValidationError, match="schema_version"):
        type(record).model_validate_json(json.dumps(data))


def test_records_are_immutable() -> None:
    message = inbound()
    with pytest.raises(ValidationError):
        message.text = "changed"  # type: ignore[misc]


def test_inbound_partition_key_is_lower_cased_channel_and_sender() -> None:
    message = inbound(
        channel=Channel.EMAIL,
        sender=SenderIdentity(channel_user_id="Ann.Smith@Example.COM"),
    )
    assert message.partition_key() == "email:ann.smith@example.com"
    assert inbound().partition_key() == "telegram:123456"


def test_call_partition_key_follows_the_customer_number() -> None:
    assert call("inbound").partition_key() == "phone:+15550001111"
    assert call("outbound").partition_key() == "phone:+15550002222"


def test_call_direction_is_restricted() -> None:
    with pytest.raises(ValidationError, match="direction"):
        call("sideways")


def test_ticket_event_partition_key_is_ticket_id() -> None:
    event = TicketEvent(kind=TicketEventKind.TICKET_CREATED, ticket_id=42, ticket_number=1042)
    assert event.partition_key() == "42"


@pytest.mark.parametrize(
    "bad",
    ["", "ab" * 31, "ab" * 33, "AB" * 32, "g" * 64, "../" + "a" * 61, " " + "a" * 63],
)
def test_blobref_rejects_invalid_sha256(bad: str) -> None:
    with pytest.raises(ValidationError, match="sha256"):
        BlobRef(sha256=bad, size=1)


def test_blobref_rejects_negative_size() -> None:
    with pytest.raises(ValidationError, match="size"):
        BlobRef(sha256=SHA, size=-1)


def test_empty_idempotency_key_is_rejected() -> None:
    with pytest.raises(ValidationError, match="idempotency_key"):
        inbound(idempotency_key="")
    with pytest.raises(ValidationError, match="idempotency_key"):
        CallEvent(
            idempotency_key="",
            channel_account="pbx",
            call_id="c",
            kind=CallKind.ANSWERED,
            direction="inbound",
            from_number="1",
            to_number="2",
        )


def test_missing_idempotency_key_is_rejected() -> None:
    data = json.loads(inbound().model_dump_json())
    del data["idempotency_key"]
    with pytest.raises(ValidationError, match="idempotency_key"):
        InboundMessage.model_validate_json(json.dumps(data))


# --- topics -------------------------------------------------------------------------------


@pytest.mark.parametrize("topic", ALL_TOPICS, ids=lambda t: t.name)
def test_dlq_name_is_topic_name_with_suffix(topic: object) -> None:
    assert topic.dlq == f"{topic.name}.dlq"  # type: ignore[attr-defined]
    assert topic.dlq.endswith(DLQ_SUFFIX)  # type: ignore[attr-defined]


def test_inbound_messages_dlq_name() -> None:
    assert INBOUND_MESSAGES.dlq == "inbound.messages.v1.dlq"


def test_all_topic_specs_has_every_topic_and_its_single_partition_dlq() -> None:
    specs = all_topic_specs()
    assert len(specs) == 2 * len(ALL_TOPICS)
    for topic in ALL_TOPICS:
        assert specs[topic.name] == topic.partitions
        assert topic.partitions >= 1
        assert specs[topic.dlq] == 1


def test_topic_names_are_unique() -> None:
    names = [t.name for t in ALL_TOPICS]
    assert len(names) == len(set(names))


def test_raw_topic_names() -> None:
    assert raw_topic(Channel.PHONE).name == "raw.telephony.v1"
    assert raw_topic(Channel.TELEGRAM).name == "raw.telegram.v1"
    assert raw_topic(Channel.SMS).record is RawWebhook
    specs = all_topic_specs()
    for channel in RAW_CHANNELS:
        assert raw_topic(channel).name in specs
    assert "raw.telephony.v1.dlq" in specs


def test_every_record_type_has_a_topic() -> None:
    carried = {t.record for t in ALL_TOPICS}
    for record_type in ALL_RECORDS:
        assert record_type in carried, record_type.__name__
