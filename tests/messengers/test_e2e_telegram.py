"""Telegram end to end: gateway -> messenger-ingest -> ticket-core -> notifier -> fake API."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from typing import Any

import httpx
import pytest
from devstack.fake_providers import telegram_flood
from devstack.probes import eventually, read_topic
from devstack.test_system import TELEGRAM_SECRET
from msgr_helpers import (
    TIMEOUT,
    MessengerSystem,
    delivery_state,
    messages_until,
    offsets,
    reply,
    ticket,
    ticket_by_subject,
    tickets_with_subject,
)
from msgr_payloads import next_id, photo_sizes, telegram_message, telegram_update, telegram_user
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.e2e
HOOK = "/webhooks/telegram/support_bot"
RAW = "raw.telegram.v1"


async def post(
    gateway: httpx.AsyncClient, update: dict[str, Any], **headers: str
) -> httpx.Response:
    return await gateway.post(
        HOOK,
        content=json.dumps(update),
        headers={
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
            **headers,
        },
    )


def subject() -> str:
    return f"Printer jams {uuid.uuid4().hex[:8]}"


async def test_message_ticket_duplicate_follow_up_reply_and_sent_state(
    system: MessengerSystem, gateway: httpx.AsyncClient, core: httpx.AsyncClient
) -> None:
    user = next_id()
    first = telegram_update(telegram_message(user, text=f"{(s := subject())}\nsince Monday"))
    for _ in range(2):  # Telegram redelivers when it misses our answer
        answer = await post(gateway, first)
        assert answer.status_code == 200, answer.text
    found = await ticket_by_subject(core, s)
    assert found["channel"] == "telegram" and found["channel_account"] == "support_bot"
    assert found["contact_name"] == "Ivan Petrov"

    second = telegram_update(telegram_message(user, text="Any news?"))
    assert (await post(gateway, second)).status_code == 200
    messages = await messages_until(core, found["id"], lambda m: len(m) >= 2, "follow-up")
    await asyncio.sleep(0.5)
    messages = (await ticket(core, found["id"]))["messages"]
    assert [m["text"] for m in messages] == [f"{s}\nsince Monday", "Any news?"]  # once each

    sent = await reply(core, found["id"], "We are on it.\n\nA technician comes at 3 pm.")
    calls = await eventually(
        lambda: _async(system.fakes.telegram.calls_of("sendMessage", chat_id=user)),
        lambda c: len(c) == 1,
        TIMEOUT,
        "sendMessage",
    )
    assert calls[0].params["text"] == "We are on it.\n\nA technician comes at 3 pm."
    await delivery_state(core, found["id"], sent["id"], "sent")


async def _async(value: Any) -> Any:
    return value


async def test_forged_or_missing_secret_is_refused_and_nothing_published(
    system: MessengerSystem, gateway: httpx.AsyncClient
) -> None:
    before = await offsets(system.kafka, RAW)
    update = telegram_update(telegram_message(next_id(), text="forged"))
    wrong = await post(gateway, update, **{"X-Telegram-Bot-Api-Secret-Token": "guess"})
    missing = await gateway.post(HOOK, json=update)
    unknown = await gateway.post("/webhooks/telegram/no_such_bot", json=update)
    assert (wrong.status_code, missing.status_code, unknown.status_code) == (403, 403, 404)
    assert await offsets(system.kafka, RAW) == before


async def test_photo_album_is_one_message_with_both_files(
    system: MessengerSystem, gateway: httpx.AsyncClient, core: httpx.AsyncClient
) -> None:
    user = next_id()
    files = {f"ph{next_id()}": f"jpeg-bytes-{i}".encode() for i in range(2)}
    for file_id, data in files.items():
        system.fakes.telegram.files[file_id] = (f"photos/{file_id}.jpg", data)
    album = str(next_id())
    s = subject()
    ids = list(files)
    first = telegram_message(user, photo=photo_sizes(ids[0]), caption=s, media_group_id=album)
    second = telegram_message(user, photo=photo_sizes(ids[1]), media_group_id=album)
    for message in (first, second):
        assert (await post(gateway, telegram_update(message))).status_code == 200
    found = await ticket_by_subject(core, s)
    messages = await messages_until(
        core, found["id"], lambda m: len(m) == 1 and len(m[0]["attachments"]) == 2, "album"
    )
    shas = [a["blob"]["sha256"] for a in messages[0]["attachments"]]
    assert shas == [hashlib.sha256(files[i]).hexdigest() for i in ids]
    assert messages[0]["text"] == s and messages[0]["fields"]["parts"] == "2"


async def test_edit_updates_the_original_message(
    system: MessengerSystem, gateway: httpx.AsyncClient, core: httpx.AsyncClient
) -> None:
    user = next_id()
    s = subject()
    original = telegram_message(user, text=s)
    assert (await post(gateway, telegram_update(original))).status_code == 200
    found = await ticket_by_subject(core, s)
    edited = {**original, "text": f"{s} (edited: 2nd floor)", "edit_date": original["date"] + 5}
    assert (await post(gateway, telegram_update(edited, "edited_message"))).status_code == 200
    messages = await messages_until(
        core, found["id"], lambda m: m[0]["text"].endswith("2nd floor)"), "edit"
    )
    assert len(messages) == 1 and messages[0]["fields"]["edit_count"] == "1"


async def test_contact_adds_the_phone_and_location_is_kept(
    system: MessengerSystem,
    gateway: httpx.AsyncClient,
    core: httpx.AsyncClient,
    engine: AsyncEngine,
) -> None:
    user = next_id()
    s = subject()
    assert (await post(gateway, telegram_update(telegram_message(user, text=s)))).status_code == 200
    found = await ticket_by_subject(core, s)
    contact = {"phone_number": "79161234567", "first_name": "Ivan", "user_id": user}
    located = {"location": {"latitude": 55.75, "longitude": 37.62}}
    for content in ({"contact": contact}, located):
        message = telegram_message(user, **content)
        assert (await post(gateway, telegram_update(message))).status_code == 200
    messages = await messages_until(core, found["id"], lambda m: len(m) == 3, "contact+location")
    assert messages[2]["fields"] == {"latitude": "55.75", "longitude": "37.62"}
    async with engine.connect() as conn:
        phone = await conn.scalar(
            text("SELECT phone FROM contacts WHERE id = :id"), {"id": found["contact_id"]}
        )
    assert phone == "+79161234567"


async def test_long_reply_is_split_and_flood_limit_is_retried_without_duplicates(
    system: MessengerSystem, gateway: httpx.AsyncClient, core: httpx.AsyncClient
) -> None:
    user = next_id()
    s = subject()
    assert (await post(gateway, telegram_update(telegram_message(user, text=s)))).status_code == 200
    found = await ticket_by_subject(core, s)
    paragraphs = [f"Paragraph {i}: " + "x" * 1500 for i in range(4)]
    system.fakes.telegram.fail_next("sendMessage", *telegram_flood(1))
    sent = await reply(core, found["id"], "\n\n".join(paragraphs))
    await delivery_state(core, found["id"], sent["id"], "sent")
    texts = [c.params["text"] for c in system.fakes.telegram.calls_of("sendMessage", chat_id=user)]
    # one call refused with 429, then each chunk (<= 4096, cut between paragraphs) once
    assert texts[1:] == ["\n\n".join(paragraphs[:2]), "\n\n".join(paragraphs[2:])]


async def test_blocked_bot_marks_the_reply_failed(
    system: MessengerSystem, gateway: httpx.AsyncClient, core: httpx.AsyncClient
) -> None:
    user = next_id()
    s = subject()
    assert (await post(gateway, telegram_update(telegram_message(user, text=s)))).status_code == 200
    found = await ticket_by_subject(core, s)
    system.fakes.telegram.blocked_chats.add(str(user))
    sent = await reply(core, found["id"], "Hello?")
    failed = await delivery_state(core, found["id"], sent["id"], "failed")
    assert "blocked" in failed["delivery_reason"]


async def test_after_the_reopen_window_a_new_linked_ticket(
    system: MessengerSystem,
    gateway: httpx.AsyncClient,
    core: httpx.AsyncClient,
    engine: AsyncEngine,
) -> None:
    user = next_id()
    s = subject()
    assert (await post(gateway, telegram_update(telegram_message(user, text=s)))).status_code == 200
    old = await ticket_by_subject(core, s)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE tickets SET status = 'resolved', "
                "resolved_at = now() - interval '30 days' WHERE id = :id"
            ),
            {"id": old["id"]},
        )
    later = f"{s} again"
    assert (
        await post(gateway, telegram_update(telegram_message(user, text=later)))
    ).status_code == 200
    new = await ticket_by_subject(core, later)
    assert new["id"] != old["id"] and new["follow_up_of_id"] == old["id"]
    assert len(await tickets_with_subject(core, s)) == 1


async def test_unknown_update_kind_is_dead_lettered(
    system: MessengerSystem, gateway: httpx.AsyncClient
) -> None:
    query = {"id": "1", "from": telegram_user(next_id()), "chat_instance": "c1", "data": "x"}
    update = {"update_id": next_id(), "callback_query": query}
    assert (await post(gateway, update)).status_code == 200

    async def parked() -> list[str]:
        records = await read_topic(system.kafka, f"{RAW}.dlq", timeout=2)
        return [
            dict(r.headers).get("dlq_error", b"").decode()
            for r in records
            if str(update["update_id"]).encode() in (r.value or b"")
        ]

    reasons = await eventually(parked, lambda r: len(r) >= 1, TIMEOUT, "dead letter")
    assert "unsupported kind" in reasons[0]
