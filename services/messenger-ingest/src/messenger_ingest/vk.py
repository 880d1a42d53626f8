"""VK Callback API events.

- ``message_new``: private and group chats (``peer_id`` >= 2000000000); attachments
  photo (largest size), doc and audio_message become media to fetch from their URLs.
- ``message_edit``: an edit of the stored original (``edit_of``).
- ``message_reply``: the echo of our own outgoing message: ignored.
- ``message_allow`` / ``message_deny``: the user's reachability.

Keys: idempotency ``vk:<account>:<event_id>``; a message's own id is
``vk:<account>:<peer_id>:<conversation_message_id>`` (in chats ``id`` is 0).
"""

from __future__ import annotations

from typing import Any

from helpdesk_common.records import Channel, InboundMessage, RawWebhook, SenderIdentity, ThreadHints

from .outcomes import (
    Ignored,
    Inbound,
    MediaRef,
    MediaSource,
    Outcome,
    Reachability,
    UnsupportedPayload,
    from_unix,
    json_object,
    strict,
)

CHANNEL = Channel.VK
CHAT_PEER_BASE = 2_000_000_000


def external_id(account: str, message: dict[str, Any]) -> str:
    local = message.get("conversation_message_id") or message.get("id")
    return f"vk:{account}:{message.get('peer_id')}:{local}"


def _photo(item: dict[str, Any]) -> MediaRef | None:
    sizes = [s for s in item.get("sizes") or [] if s.get("url")]
    if not sizes:
        return None
    best = max(sizes, key=lambda s: int(s.get("width", 0)) * int(s.get("height", 0)))
    return MediaRef(MediaSource.URL, best["url"], f"photo_{item.get('id', 'vk')}.jpg", "image/jpeg")


def _attachments(message: dict[str, Any]) -> tuple[list[MediaRef], list[str]]:
    media: list[MediaRef] = []
    notes: list[str] = []
    for attachment in message.get("attachments") or []:
        kind = attachment.get("type")
        item = attachment.get(kind) or {}
        ref: MediaRef | None = None
        if kind == "photo":
            ref = _photo(item)
        elif kind == "doc" and item.get("url"):
            title = str(item.get("title") or f"doc_{item.get('id')}")
            ext = item.get("ext")
            name = title if not ext or title.endswith(f".{ext}") else f"{title}.{ext}"
            ref = MediaRef(MediaSource.URL, item["url"], name, size=item.get("size"))
        elif kind == "audio_message" and (item.get("link_ogg") or item.get("link_mp3")):
            ogg = item.get("link_ogg")
            ref = MediaRef(
                MediaSource.URL,
                ogg or item["link_mp3"],
                f"voice_{item.get('id', 'vk')}.{'ogg' if ogg else 'mp3'}",
                "audio/ogg" if ogg else "audio/mpeg",
            )
        if ref is not None:
            media.append(ref)
        else:
            notes.append(f"[{kind}]")
    return media, notes


def _message(
    raw: RawWebhook, event: dict[str, Any], message: dict[str, Any], edit: bool
) -> Outcome:
    from_id = int(message.get("from_id") or 0)
    peer_id = int(message.get("peer_id") or 0)
    if not from_id or not peer_id:
        raise UnsupportedPayload(f"vk {event.get('type')} without from_id/peer_id")
    if from_id < 0:
        return Ignored("message from a community")
    account = raw.channel_account
    media, notes = _attachments(message)
    text = "\n".join(p for p in (str(message.get("text") or ""), " ".join(notes)) if p)
    fields: dict[str, str] = {}
    if peer_id >= CHAT_PEER_BASE:
        fields["chat_id"] = str(peer_id - CHAT_PEER_BASE)
    reply = message.get("reply_message")
    key = event.get("event_id") or f"{external_id(account, message)}:{message.get('update_time')}"
    own_id = external_id(account, message)
    inbound = InboundMessage(
        idempotency_key=f"vk:{account}:{key}",
        correlation_id=raw.correlation_id,
        channel=CHANNEL,
        channel_account=account,
        sender=SenderIdentity(channel_user_id=str(from_id)),
        thread=ThreadHints(
            conversation_id=str(peer_id),
            message_id=own_id,
            in_reply_to=external_id(account, {**reply, "peer_id": peer_id}) if reply else None,
        ),
        text=text,
        fields=fields,
        edit_of=own_id if edit else None,
        sent_at=from_unix(
            message.get("update_time") if edit else message.get("date"), raw.received_at
        ),
        received_at=raw.received_at,
    )
    return Inbound(inbound, tuple(media))


@strict
def parse(raw: RawWebhook) -> Outcome:
    event = json_object(raw)
    kind = event.get("type")
    obj = event.get("object")
    if not isinstance(obj, dict):
        raise UnsupportedPayload(f"vk event {kind!r} without an object")
    account = raw.channel_account
    if kind == "message_new":
        message = obj.get("message", obj)  # API >= 5.103 wraps it with client_info
        return _message(raw, event, message, edit=False)
    if kind == "message_edit":
        return _message(raw, event, obj, edit=True)
    if kind == "message_reply":
        return Ignored("our own outgoing message")
    if kind in ("message_allow", "message_deny"):
        user_id = obj.get("user_id")
        if not user_id:
            raise UnsupportedPayload(f"vk {kind} without user_id")
        allowed = kind == "message_allow"
        return Reachability(CHANNEL, account, str(user_id), allowed, kind, raw.received_at)
    if kind in ("confirmation", "message_typing_state"):
        return Ignored(f"vk {kind}")
    raise UnsupportedPayload(f"vk event of unknown type {kind!r}")
