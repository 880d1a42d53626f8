"""Webhook bodies as the providers send them (field names from their documentation)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import random
import time
from typing import Any

_ids = itertools.count(random.randrange(10_000_000, 90_000_000))


def next_id() -> int:
    return next(_ids)


def telegram_user(user_id: int, first: str = "Ivan", last: str = "Petrov") -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": first,
        "last_name": last,
        "username": f"user{user_id}",
        "language_code": "ru",
    }


def telegram_message(
    user_id: int,
    *,
    chat: dict[str, Any] | None = None,
    message_id: int | None = None,
    **content: Any,
) -> dict[str, Any]:
    user = telegram_user(user_id)
    return {
        "message_id": message_id or next_id(),
        "date": int(time.time()),
        "chat": chat or {"id": user_id, "type": "private", "first_name": user["first_name"]},
        "from": user,
        **content,
    }


def telegram_update(message: dict[str, Any], kind: str = "message") -> dict[str, Any]:
    return {"update_id": next_id(), kind: message}


def photo_sizes(file_id: str) -> list[dict[str, Any]]:
    return [
        {
            "file_id": f"{file_id}-s",
            "file_unique_id": "s",
            "width": 90,
            "height": 60,
            "file_size": 900,
        },
        {
            "file_id": file_id,
            "file_unique_id": f"{file_id}u",
            "width": 1280,
            "height": 853,
            "file_size": 90_000,
        },
    ]


def viber_message(
    user_id: str, message: dict[str, Any], token: int | None = None
) -> dict[str, Any]:
    return {
        "event": "message",
        "timestamp": int(time.time() * 1000),
        "chat_hostname": "SN-CHAT-01_",
        "message_token": token or next_id(),
        "sender": {
            "id": user_id,
            "name": "Olga",
            "avatar": "https://example.invalid/a.jpg",
            "language": "ru",
            "country": "RU",
            "api_version": 10,
        },
        "message": message,
        "silent": False,
    }


def viber_receipt(event: str, user_id: str, message_token: str, **extra: Any) -> dict[str, Any]:
    return {
        "event": event,
        "timestamp": int(time.time() * 1000),
        "chat_hostname": "SN-CHAT-01_",
        "message_token": int(message_token),
        "user_id": user_id,
        **extra,
    }


def viber_signed(payload: dict[str, Any], token: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload, ensure_ascii=False).encode()
    signature = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-Viber-Content-Signature": signature, "Content-Type": "application/json"}


def vk_event(kind: str, obj: dict[str, Any], *, group_id: int, secret: str) -> dict[str, Any]:
    return {
        "type": kind,
        "object": obj,
        "group_id": group_id,
        "event_id": hashlib.sha1(str(next_id()).encode()).hexdigest(),
        "v": "5.199",
        "secret": secret,
    }


def vk_message(
    from_id: int, text: str, *, peer_id: int | None = None, **extra: Any
) -> dict[str, Any]:
    local = next_id()
    return {
        "date": int(time.time()),
        "from_id": from_id,
        "id": 0 if peer_id and peer_id >= 2_000_000_000 else local,
        "out": 0,
        "peer_id": peer_id or from_id,
        "text": text,
        "conversation_message_id": local,
        "fwd_messages": [],
        "important": False,
        "random_id": 0,
        "attachments": [],
        "is_hidden": False,
        **extra,
    }


def vk_new(message: dict[str, Any], *, group_id: int, secret: str) -> dict[str, Any]:
    client_info = {"button_actions": ["text"], "keyboard": True, "lang_id": 0}
    return vk_event(
        "message_new",
        {"message": message, "client_info": client_info},
        group_id=group_id,
        secret=secret,
    )
