"""VK end to end: confirmation handshake, callbacks in, messages.send out (random_id)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from typing import Any

import httpx
import pytest
from devstack.fake_providers import vk_error
from devstack.probes import eventually
from devstack.test_system import VK_CONFIRMATION, VK_GROUP, VK_SECRET
from msgr_helpers import (
    TIMEOUT,
    MessengerSystem,
    delivery_state,
    messages_until,
    offsets,
    reply,
    ticket,
    ticket_by_subject,
)
from msgr_payloads import next_id, vk_event, vk_message, vk_new
from notifier.vk_sender import random_id

pytestmark = pytest.mark.e2e
HOOK = "/webhooks/vk/vk_club"
RAW = "raw.vk.v1"


async def post(gateway: httpx.AsyncClient, event: dict[str, Any]) -> httpx.Response:
    return await gateway.post(HOOK, content=json.dumps(event), headers={"X-Retry-Counter": "0"})


def new(message: dict[str, Any]) -> dict[str, Any]:
    return vk_new(message, group_id=VK_GROUP, secret=VK_SECRET)


async def _value(value: Any) -> Any:
    return value


async def test_confirmation_handshake(gateway: httpx.AsyncClient) -> None:
    answer = await gateway.post(HOOK, json={"type": "confirmation", "group_id": VK_GROUP})
    assert answer.status_code == 200 and answer.text == VK_CONFIRMATION
    assert answer.headers["content-type"].startswith("text/plain")
    other_group = await gateway.post(HOOK, json={"type": "confirmation", "group_id": 1})
    assert other_group.status_code == 403


async def test_message_ticket_duplicate_edit_reply_with_stable_random_id(
    system: MessengerSystem, gateway: httpx.AsyncClient, core: httpx.AsyncClient
) -> None:
    user = next_id()
    s = f"No heating {uuid.uuid4().hex[:8]}"
    message = vk_message(user, s)
    event = new(message)
    for _ in range(2):  # VK re-sends with the same event_id
        answer = await post(gateway, event)
        assert answer.status_code == 200 and answer.text == "ok"
    found = await ticket_by_subject(core, s)

    edited = {**message, "text": f"{s}, flat 12", "update_time": message["date"] + 9}
    edit = vk_event("message_edit", edited, group_id=VK_GROUP, secret=VK_SECRET)
    echo = vk_event(
        "message_reply",
        vk_message(-VK_GROUP, "echo", peer_id=user),
        group_id=VK_GROUP,
        secret=VK_SECRET,
    )
    second = new(vk_message(user, "Please hurry"))
    for item in (edit, echo, second):
        assert (await post(gateway, item)).status_code == 200
    messages = await messages_until(core, found["id"], lambda m: len(m) == 2, "second message")
    await asyncio.sleep(0.5)
    messages = (await ticket(core, found["id"]))["messages"]
    assert [m["text"] for m in messages] == [f"{s}, flat 12", "Please hurry"]

    # The first send fails with an internal error (transient): the retry reuses random_id.
    system.fakes.vk.fail_next("messages.send", *vk_error(10, "Internal server error"))
    sent = await reply(core, found["id"], "The engineer comes today.")
    await delivery_state(core, found["id"], sent["id"], "sent")
    calls = system.fakes.vk.calls_of("messages.send", peer_id=user)
    assert len(calls) == 2
    expected = str(random_id(sent["outbound_id"], 0))
    assert [c.params["random_id"] for c in calls] == [expected, expected]
    assert calls[-1].params["message"] == "The engineer comes today."
    assert calls[-1].params["v"] == "5.199"


async def test_group_chat_photo_attachment(
    system: MessengerSystem, gateway: httpx.AsyncClient, core: httpx.AsyncClient
) -> None:
    name = f"vkphoto{next_id()}.jpg"
    system.fakes.vk.cdn[name] = b"vk-photo-bytes"
    url = f"{system.fakes.vk.base_url}/cdn/{name}"
    photo = {
        "type": "photo",
        "photo": {
            "id": 5,
            "owner_id": 1,
            "sizes": [
                {"type": "s", "width": 75, "height": 50, "url": url + "?small"},
                {"type": "x", "width": 604, "height": 403, "url": url},
            ],
        },
    }
    s = f"Elevator stuck {uuid.uuid4().hex[:8]}"
    chat_peer = 2_000_000_000 + next_id() % 1000
    message = vk_message(next_id(), s, peer_id=chat_peer, attachments=[photo])
    assert (await post(gateway, new(message))).status_code == 200
    found = await ticket_by_subject(core, s)
    messages = await messages_until(core, found["id"], lambda m: len(m) == 1, "chat message")
    assert (
        messages[0]["attachments"][0]["blob"]["sha256"]
        == hashlib.sha256(b"vk-photo-bytes").hexdigest()
    )
    assert messages[0]["fields"]["chat_id"] == str(chat_peer - 2_000_000_000)


async def test_wrong_secret_is_refused_and_nothing_published(
    system: MessengerSystem, gateway: httpx.AsyncClient
) -> None:
    before = await offsets(system.kafka, RAW)
    forged = vk_new(vk_message(next_id(), "forged"), group_id=VK_GROUP, secret="guess")
    missing = {k: v for k, v in forged.items() if k != "secret"}
    answers = [await post(gateway, forged), await post(gateway, missing)]
    assert [a.status_code for a in answers] == [403, 403]
    assert await offsets(system.kafka, RAW) == before


async def test_messages_denied_makes_the_reply_fail(
    system: MessengerSystem, gateway: httpx.AsyncClient, core: httpx.AsyncClient
) -> None:
    user = next_id()
    s = f"Door lock {uuid.uuid4().hex[:8]}"
    assert (await post(gateway, new(vk_message(user, s)))).status_code == 200
    found = await ticket_by_subject(core, s)
    deny = vk_event("message_deny", {"user_id": user}, group_id=VK_GROUP, secret=VK_SECRET)
    assert (await post(gateway, deny)).status_code == 200
    system.fakes.vk.denied_peers.add(str(user))
    sent = await reply(core, found["id"], "Hello?")
    failed = await delivery_state(core, found["id"], sent["id"], "failed")
    assert "901" in failed["delivery_reason"]
    await eventually(
        lambda: _value(system.fakes.vk.calls_of("messages.send", peer_id=user)),
        lambda c: len(c) == 1,
        TIMEOUT,
        "one attempt only",
    )


def test_no_token_or_secret_in_the_service_logs(system: MessengerSystem) -> None:
    """Runs after the messenger tests above: every log line the four services wrote."""
    from devstack.test_system import TELEGRAM_SECRET, TELEGRAM_TOKEN, VIBER_TOKEN, VK_TOKEN

    logs = "".join(path.read_text(errors="replace") for path in system.stack.log_dir.glob("*.log"))
    assert "inbound_batch_stored" in logs  # the logs are there (ticket-core stored batches)
    for secret in (TELEGRAM_TOKEN, TELEGRAM_SECRET, VIBER_TOKEN, VK_TOKEN, VK_SECRET):
        assert secret not in logs
