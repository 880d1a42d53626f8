"""Viber callbacks: messages of each type, subscription changes, delivery receipts.

- ``message``: text, picture, video, file (media to fetch from the given URL), contact,
  location, url and sticker become one inbound message each.
- ``subscribed`` / ``unsubscribed`` / ``conversation_started``: the user's reachability.
- ``delivered`` / ``seen`` / ``failed``: receipts for messages we sent, by message_token.

Keys: idempotency ``viber:<account>:<message_token>``; contact identity: the Viber user id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from helpdesk_common.records import (
    Channel,
    DeliveryState,
    InboundMessage,
    RawWebhook,
    SenderIdentity,
    ThreadHints,
)

from .outcomes import (
    Ignored,
    Inbound,
    MediaRef,
    MediaSource,
    Outcome,
    Reachability,
    Receipt,
    UnsupportedPayload,
    from_unix,
    json_object,
    strict,
)

CHANNEL = Channel.VIBER
RECEIPTS = {
    "delivered": DeliveryState.DELIVERED,
    "seen": DeliveryState.READ,
    "failed": DeliveryState.FAILED,
}
MEDIA_TYPES = {"picture": "image/jpeg", "video": "video/mp4", "file": "application/octet-stream"}


def _str(event: dict[str, Any], *path: str) -> str:
    value: Any = event
    for key in path:
        if not isinstance(value, dict) or value.get(key) in (None, ""):
            raise UnsupportedPayload(f"viber {event.get('event')!r} event without {'.'.join(path)}")
        value = value[key]
    return str(value)


def _content(message: dict[str, Any], token: str) -> tuple[str, dict[str, str], list[MediaRef]]:
    kind = str(message.get("type", ""))
    text = str(message.get("text") or "")
    fields: dict[str, str] = {"viber_type": kind}
    media: list[MediaRef] = []
    if kind in MEDIA_TYPES and message.get("media"):
        ext = {"picture": ".jpg", "video": ".mp4"}.get(kind, "")
        name = str(message.get("file_name") or f"{kind}_{token}{ext}")
        media.append(
            MediaRef(
                MediaSource.URL, str(message["media"]), name, MEDIA_TYPES[kind], message.get("size")
            )
        )
    elif kind == "contact":
        contact = message.get("contact") or {}
        name, phone = str(contact.get("name", "")), str(contact.get("phone_number", ""))
        fields.update(contact_name=name, contact_phone=phone)
        text = f"Contact: {name} {phone}".strip()
    elif kind == "location":
        location = message.get("location") or {}
        lat, lon = location.get("lat"), location.get("lon")
        fields.update(latitude=str(lat), longitude=str(lon))
        text = f"Location: {lat}, {lon}"
    elif kind == "url":
        text = str(message.get("media") or text)
    elif kind == "sticker":
        text = text or f"[sticker {message.get('sticker_id', '')}]".replace(" ]", "]")
    elif kind != "text":
        raise UnsupportedPayload(f"viber message of unknown type {kind!r}")
    return text, fields, media


def _message(raw: RawWebhook, event: dict[str, Any], when: datetime) -> Outcome:
    token = _str(event, "message_token")
    sender = event.get("sender")
    message = event.get("message")
    if not isinstance(sender, dict) or not isinstance(message, dict):
        raise UnsupportedPayload("viber message event without sender or message")
    user_id = _str(event, "sender", "id")
    text, fields, media = _content(message, token)
    account = raw.channel_account
    inbound = InboundMessage(
        idempotency_key=f"viber:{account}:{token}",
        correlation_id=raw.correlation_id,
        channel=CHANNEL,
        channel_account=account,
        sender=SenderIdentity(channel_user_id=user_id, display_name=str(sender.get("name", ""))),
        thread=ThreadHints(conversation_id=user_id, message_id=f"viber:{account}:{token}"),
        text=text,
        fields=fields,
        sent_at=when,
        received_at=raw.received_at,
    )
    return Inbound(inbound, tuple(media))


@strict
def parse(raw: RawWebhook) -> Outcome:
    event = json_object(raw)
    kind = event.get("event")
    when = from_unix((event.get("timestamp") or 0) / 1000, raw.received_at)
    account = raw.channel_account
    if kind == "message":
        return _message(raw, event, when)
    if kind in RECEIPTS:
        return Receipt(
            CHANNEL,
            account,
            _str(event, "message_token"),
            RECEIPTS[kind],
            when,
            reason=str(event["desc"]) if event.get("desc") else None,
        )
    if kind == "subscribed":
        return Reachability(CHANNEL, account, _str(event, "user", "id"), True, "subscribed", when)
    if kind == "unsubscribed":
        return Reachability(CHANNEL, account, _str(event, "user_id"), False, "unsubscribed", when)
    if kind == "conversation_started":
        subscribed = bool(event.get("subscribed"))
        return Reachability(
            CHANNEL, account, _str(event, "user", "id"), subscribed, "conversation_started", when
        )
    if kind in ("webhook", "client_status"):
        return Ignored(f"viber {kind} event")
    raise UnsupportedPayload(f"viber event of unknown type {kind!r}")
