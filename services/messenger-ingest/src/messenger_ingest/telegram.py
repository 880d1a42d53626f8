"""Telegram updates (python-telegram-bot objects parsed from the raw body, no network).

- ``message``: private chats and groups; text or caption; the largest photo size,
  documents, voice, video and audio become media to fetch (getFile); a contact shared by
  its own owner adds the phone number to the sender; locations become text and fields.
- Albums (``media_group_id``): every item is an update of its own; the first becomes the
  message and later ones are parts of it (``part_of``), resolved in the handler.
- ``edited_message``: an edit of the stored original (``edit_of``), not a new message.
- ``my_chat_member`` in a private chat: the user blocked (kicked) or restarted the bot.

Keys: idempotency ``telegram:<account>:<update_id>`` (update ids are per bot); the
message's own id ``telegram:<account>:<chat id>:<message id>`` (edits and replies find it).
"""

from __future__ import annotations

from typing import Any

from helpdesk_common.records import Channel, InboundMessage, RawWebhook, SenderIdentity, ThreadHints
from telegram import Message, Update

from .outcomes import (
    Ignored,
    Inbound,
    MediaRef,
    MediaSource,
    Outcome,
    Reachability,
    UnsupportedPayload,
    e164,
    json_object,
    strict,
)

CHANNEL = Channel.TELEGRAM


def external_id(account: str, chat_id: int, message_id: int) -> str:
    return f"telegram:{account}:{chat_id}:{message_id}"


def _media(message: Message) -> list[MediaRef]:
    found: list[MediaRef] = []
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.file_size or 0, p.width * p.height))
        found.append(
            MediaRef(
                MediaSource.TELEGRAM_FILE,
                largest.file_id,
                f"photo_{largest.file_unique_id}.jpg",
                "image/jpeg",
                largest.file_size,
            )
        )
    for item, default_name, default_type in (
        (message.document, "document", "application/octet-stream"),
        (message.video, "video.mp4", "video/mp4"),
        (message.audio, "audio.mp3", "audio/mpeg"),
        (message.voice, "voice.ogg", "audio/ogg"),
    ):
        if item is None:
            continue
        name = getattr(item, "file_name", None) or f"{item.file_unique_id}_{default_name}"
        found.append(
            MediaRef(
                MediaSource.TELEGRAM_FILE,
                item.file_id,
                name,
                item.mime_type or default_type,
                item.file_size,
            )
        )
    return found


def _extras(message: Message, sender_id: int) -> tuple[list[str], dict[str, str], str | None]:
    """Text lines, fields and the sender's own phone from a contact or a location."""
    lines: list[str] = []
    fields: dict[str, str] = {}
    phone: str | None = None
    if message.contact is not None:
        contact = message.contact
        name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
        lines.append(f"Contact: {name} {contact.phone_number}".strip())
        fields.update(contact_name=name, contact_phone=contact.phone_number)
        if contact.user_id == sender_id:  # their own number, shared with the bot
            phone = e164(contact.phone_number)
    if message.location is not None:
        lat, lon = message.location.latitude, message.location.longitude
        lines.append(f"Location: {lat}, {lon}")
        fields.update(latitude=str(lat), longitude=str(lon))
    return lines, fields, phone


def _message(raw: RawWebhook, update: Update, message: Message, *, edit: bool) -> Outcome:
    user = message.from_user
    if user is None:
        raise UnsupportedPayload(f"telegram update {update.update_id}: message without sender")
    if user.is_bot:
        return Ignored("message from a bot")
    account = raw.channel_account
    lines, fields, phone = _extras(message, user.id)
    media = _media(message)
    body = message.text or message.caption or ""
    text = "\n".join([body, *lines]).strip() if lines else body
    if not text and not media:
        text = "[unsupported telegram message]"
    if message.chat.type != "private":
        fields.update(chat_type=message.chat.type, chat_title=message.chat.title or "")
    reply = message.reply_to_message
    when = message.edit_date if edit and message.edit_date else message.date
    inbound = InboundMessage(
        idempotency_key=f"telegram:{account}:{update.update_id}",
        correlation_id=raw.correlation_id,
        channel=CHANNEL,
        channel_account=account,
        sender=SenderIdentity(
            channel_user_id=str(user.id),
            display_name=user.full_name,
            username=user.username,
            phone=phone,
        ),
        thread=ThreadHints(
            conversation_id=str(message.chat.id),
            message_id=external_id(account, message.chat.id, message.message_id),
            in_reply_to=external_id(account, message.chat.id, reply.message_id) if reply else None,
        ),
        text=text,
        fields=fields,
        edit_of=external_id(account, message.chat.id, message.message_id) if edit else None,
        sent_at=when,
        received_at=raw.received_at,
    )
    album = None
    if message.media_group_id and not edit:
        album = f"telegram:{account}:{message.chat.id}:{message.media_group_id}"
    return Inbound(inbound, tuple(media), album)


def _member(raw: RawWebhook, update: Update) -> Outcome:
    change = update.my_chat_member
    assert change is not None
    if change.chat.type != "private":
        return Ignored("bot membership changed in a group")
    status = change.new_chat_member.status
    return Reachability(
        CHANNEL,
        raw.channel_account,
        str(change.from_user.id),
        reachable=status not in ("kicked", "left"),
        reason=f"bot {status}",
        at=change.date,
    )


@strict
def parse(raw: RawWebhook) -> Outcome:
    data: dict[str, Any] = json_object(raw)
    try:
        update = Update.de_json(data, None)
    except (KeyError, TypeError, ValueError) as exc:
        raise UnsupportedPayload(f"not a telegram Update: {type(exc).__name__}: {exc}") from exc
    if update.message is not None:
        return _message(raw, update, update.message, edit=False)
    if update.edited_message is not None:
        return _message(raw, update, update.edited_message, edit=True)
    if update.my_chat_member is not None:
        return _member(raw, update)
    kinds = sorted(k for k in data if k != "update_id")
    raise UnsupportedPayload(f"telegram update {update.update_id}: unsupported kind {kinds}")
