"""Customer text with NUL characters (PostgreSQL refuses them) is cleaned in the record."""

from __future__ import annotations

from helpdesk_common.records import (
    Channel,
    InboundMessage,
    SenderIdentity,
    ThreadHints,
    decode_json,
)


def test_nul_characters_are_dropped_everywhere_in_an_inbound_message() -> None:
    message = InboundMessage(
        idempotency_key="telegram:bot:1",
        channel=Channel.TELEGRAM,
        channel_account="bot",
        sender=SenderIdentity(channel_user_id="42", display_name="An\x00n"),
        thread=ThreadHints(conversation_id="4\x002"),
        subject="Hel\x00lo",
        text="a\x00b\x00c",
        fields={"k\x00ey": "v\x00al"},
    )
    assert message.text == "abc"
    assert message.subject == "Hello"
    assert message.sender.display_name == "Ann"
    assert message.thread.conversation_id == "42"
    assert message.fields == {"key": "val"}
    dumped = message.model_dump_json()
    assert "\\u0000" not in dumped
    # A record produced elsewhere with NUL escapes in its JSON is cleaned on decode too.
    raw = dumped.replace('"abc"', '"ab\\u0000c"')
    assert InboundMessage.model_validate_json(raw).text == "abc"


def test_decode_json_drops_nul_escapes_and_keeps_clean_records_unchanged() -> None:
    message = InboundMessage(
        idempotency_key="telegram:bot:2",
        channel=Channel.TELEGRAM,
        channel_account="bot",
        sender=SenderIdentity(channel_user_id="42", display_name="Ann"),
        text="plain \\u0000 text, written with a backslash",
        fields={"k": "v"},
    )
    dumped = message.model_dump_json()
    assert decode_json(InboundMessage, dumped) == message  # a literal backslash-u stays
    assert decode_json(InboundMessage, dumped.encode()) == message
    with_nul = dumped.replace('"Ann"', '"A\\u0000nn"').replace('"v"', '"\\u0000v"')
    decoded = decode_json(InboundMessage, with_nul.encode())
    assert decoded.sender.display_name == "Ann"
    assert decoded.fields == {"k": "v"}
