"""The messenger parsers: pure functions of the raw webhook (no network)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpdesk_common.records import Channel, DeliveryState, RawWebhook
from messenger_ingest import telegram, viber, vk
from messenger_ingest.outcomes import (
    Ignored,
    Inbound,
    MediaSource,
    Reachability,
    Receipt,
    UnsupportedPayload,
)
from msgr_payloads import (
    photo_sizes,
    telegram_message,
    telegram_update,
    viber_message,
    viber_receipt,
    vk_event,
    vk_message,
    vk_new,
)


def raw(channel: Channel, body: Any, account: str = "acct") -> RawWebhook:
    text = body if isinstance(body, str) else json.dumps(body)
    return RawWebhook(channel=channel, channel_account=account, body=text)


def inbound(outcome: object) -> Inbound:
    assert isinstance(outcome, Inbound)
    return outcome


def test_telegram_private_text() -> None:
    update = telegram_update(telegram_message(42, text="Hello", message_id=7))
    out = inbound(telegram.parse(raw(Channel.TELEGRAM, update)))
    m = out.message
    assert m.idempotency_key == f"telegram:acct:{update['update_id']}"
    assert m.sender.channel_user_id == "42" and m.sender.display_name == "Ivan Petrov"
    assert m.thread.conversation_id == "42" and m.thread.message_id == "telegram:acct:42:7"
    assert m.text == "Hello" and m.edit_of is None and out.media == () and out.album is None


def test_telegram_group_caption_largest_photo_and_album() -> None:
    chat = {"id": -100123, "type": "supergroup", "title": "Office"}
    message = telegram_message(
        42, chat=chat, caption="See", photo=photo_sizes("big"), media_group_id="g1"
    )
    out = inbound(telegram.parse(raw(Channel.TELEGRAM, telegram_update(message))))
    assert out.message.text == "See" and out.message.thread.conversation_id == "-100123"
    assert out.message.fields["chat_title"] == "Office"
    assert [(r.source, r.ref) for r in out.media] == [(MediaSource.TELEGRAM_FILE, "big")]
    assert out.album == "telegram:acct:-100123:g1"


def test_telegram_document_voice_video_contact_location() -> None:
    doc = {
        "file_id": "d",
        "file_unique_id": "du",
        "file_name": "act.pdf",
        "mime_type": "application/pdf",
        "file_size": 10,
    }
    voice = {"file_id": "v", "file_unique_id": "vu", "duration": 3, "mime_type": "audio/ogg"}
    video = {"file_id": "x", "file_unique_id": "xu", "width": 1, "height": 1, "duration": 1}
    for content, expected in (
        ({"document": doc}, ("act.pdf", "application/pdf")),
        ({"voice": voice}, ("vu_voice.ogg", "audio/ogg")),
        ({"video": video}, ("xu_video.mp4", "video/mp4")),
    ):
        out = inbound(
            telegram.parse(raw(Channel.TELEGRAM, telegram_update(telegram_message(1, **content))))
        )
        assert [(r.filename, r.content_type) for r in out.media] == [expected]
    own = {"phone_number": "79160000000", "first_name": "Ivan", "user_id": 1}
    other = {**own, "user_id": 2}
    mine = inbound(
        telegram.parse(raw(Channel.TELEGRAM, telegram_update(telegram_message(1, contact=own))))
    )
    theirs = inbound(
        telegram.parse(raw(Channel.TELEGRAM, telegram_update(telegram_message(1, contact=other))))
    )
    assert mine.message.sender.phone == "+79160000000" and theirs.message.sender.phone is None
    located = inbound(
        telegram.parse(
            raw(
                Channel.TELEGRAM,
                telegram_update(telegram_message(1, location={"latitude": 1.5, "longitude": 2.5})),
            )
        )
    )
    assert located.message.text == "Location: 1.5, 2.5"


def test_telegram_edit_points_at_the_original() -> None:
    message = {**telegram_message(5, text="fixed", message_id=9), "edit_date": 1700000000}
    out = inbound(telegram.parse(raw(Channel.TELEGRAM, telegram_update(message, "edited_message"))))
    assert out.message.edit_of == "telegram:acct:5:9" and out.message.text == "fixed"


def test_telegram_blocked_bot_and_unknown_shapes() -> None:
    member = {
        "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": False, "first_name": "A"},
        "date": 1700000000,
        "old_chat_member": {
            "status": "member",
            "user": {"id": 1, "is_bot": True, "first_name": "B"},
        },
        "new_chat_member": {
            "status": "kicked",
            "until_date": 0,
            "user": {"id": 1, "is_bot": True, "first_name": "B"},
        },
    }
    out = telegram.parse(raw(Channel.TELEGRAM, {"update_id": 1, "my_chat_member": member}))
    assert isinstance(out, Reachability) and out.reachable is False and out.user_id == "5"
    for body in ("not json", [1], {"update_id": 1, "poll": {}}, {"message": {}}):
        with pytest.raises(UnsupportedPayload):
            telegram.parse(raw(Channel.TELEGRAM, body))


def test_viber_messages_of_each_type() -> None:
    cases = {
        "text": ({"type": "text", "text": "hi"}, "hi", 0),
        "picture": ({"type": "picture", "text": "look", "media": "https://x/p.jpg"}, "look", 1),
        "file": ({"type": "file", "media": "https://x/f", "file_name": "a.pdf", "size": 3}, "", 1),
        "video": ({"type": "video", "media": "https://x/v", "size": 3}, "", 1),
        "contact": (
            {"type": "contact", "contact": {"name": "Oleg", "phone_number": "+7900"}},
            "Contact: Oleg +7900",
            0,
        ),
        "location": (
            {"type": "location", "location": {"lat": 1.0, "lon": 2.0}},
            "Location: 1.0, 2.0",
            0,
        ),
        "url": ({"type": "url", "media": "https://example.com"}, "https://example.com", 0),
        "sticker": ({"type": "sticker", "sticker_id": 46105}, "[sticker 46105]", 0),
    }
    for kind, (message, text, media) in cases.items():
        out = inbound(viber.parse(raw(Channel.VIBER, viber_message("u1==", message, token=77))))
        assert out.message.text == text, kind
        assert len(out.media) == media, kind
        assert out.message.idempotency_key == "viber:acct:77"
        assert out.message.sender.channel_user_id == "u1=="


def test_viber_receipts_and_subscriptions() -> None:
    seen = viber.parse(raw(Channel.VIBER, viber_receipt("seen", "u1", "123")))
    failed = viber.parse(raw(Channel.VIBER, viber_receipt("failed", "u1", "124", desc="gone")))
    assert isinstance(seen, Receipt) and seen.state is DeliveryState.READ
    assert seen.provider_message_id == "123"
    assert isinstance(failed, Receipt) and failed.reason == "gone"
    sub = viber.parse(raw(Channel.VIBER, {"event": "subscribed", "user": {"id": "u1"}}))
    unsub = viber.parse(raw(Channel.VIBER, {"event": "unsubscribed", "user_id": "u1"}))
    started = viber.parse(
        raw(
            Channel.VIBER,
            {"event": "conversation_started", "user": {"id": "u1"}, "subscribed": False},
        )
    )
    assert [o.reachable for o in (sub, unsub, started)] == [True, False, False]  # type: ignore[union-attr]
    assert isinstance(viber.parse(raw(Channel.VIBER, {"event": "webhook"})), Ignored)
    for body in (
        {"event": "nonsense"},
        {"event": "message"},
        viber_message("u", {"type": "hologram"}),
    ):
        with pytest.raises(UnsupportedPayload):
            viber.parse(raw(Channel.VIBER, body))


def test_vk_message_new_edit_reply_allow_deny() -> None:
    photo = {
        "type": "photo",
        "photo": {
            "id": 1,
            "sizes": [
                {"width": 10, "height": 10, "url": "https://x/s"},
                {"width": 100, "height": 100, "url": "https://x/l"},
            ],
        },
    }
    doc = {"type": "doc", "doc": {"id": 2, "title": "act", "ext": "pdf", "url": "https://x/d"}}
    voice = {"type": "audio_message", "audio_message": {"id": 3, "link_ogg": "https://x/o"}}
    sticker = {"type": "sticker", "sticker": {"id": 4}}
    message = vk_message(10, "hi", attachments=[photo, doc, voice, sticker])
    event = vk_new(message, group_id=1, secret="s")
    out = inbound(vk.parse(raw(Channel.VK, event)))
    assert out.message.idempotency_key == f"vk:acct:{event['event_id']}"
    assert [r.ref for r in out.media] == ["https://x/l", "https://x/d", "https://x/o"]
    assert [r.filename for r in out.media][1] == "act.pdf"
    assert out.message.text == "hi\n[sticker]"
    own = f"vk:acct:10:{message['conversation_message_id']}"
    assert out.message.thread.message_id == own
    edit = vk_event("message_edit", {**message, "text": "hi!"}, group_id=1, secret="s")
    assert inbound(vk.parse(raw(Channel.VK, edit))).message.edit_of == own
    chat = inbound(
        vk.parse(
            raw(
                Channel.VK,
                vk_new(vk_message(10, "in chat", peer_id=2_000_000_005), group_id=1, secret="s"),
            )
        )
    )
    assert chat.message.thread.conversation_id == "2000000005"
    assert chat.message.fields["chat_id"] == "5"
    echo = vk_event("message_reply", vk_message(-1, "ours", peer_id=10), group_id=1, secret="s")
    assert isinstance(vk.parse(raw(Channel.VK, echo)), Ignored)
    for kind, allowed in (("message_allow", True), ("message_deny", False)):
        out2 = vk.parse(raw(Channel.VK, vk_event(kind, {"user_id": 10}, group_id=1, secret="s")))
        assert isinstance(out2, Reachability) and out2.reachable is allowed
    for body in ({"type": "wall_post_new", "object": {}}, {"type": "message_new"}):
        with pytest.raises(UnsupportedPayload):
            vk.parse(raw(Channel.VK, body))
