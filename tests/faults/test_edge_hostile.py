"""Hostile input at the edge, against the running gateway: forged, missing and replayed
signatures on every webhook; oversized bodies refused before they are read whole;
nesting bombs; a flood from one source limited while another source gets through."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from devstack.probes import end_offsets, eventually
from devstack.processes import free_port
from devstack.services import BY_NAME, service_child, wait_ready
from devstack.stack import Stack
from devstack.test_system import TELEGRAM_SECRET, VIBER_TOKEN, VK_GROUP, VK_SECRET
from faults_helpers import numeric_base, run_id, telegram_update
from helpdesk_common.records import Channel
from helpdesk_common.topics import raw_topic
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.e2e

TELEGRAM = "/webhooks/telegram/support_bot"
VIBER = "/webhooks/viber/viber_main"
VK = "/webhooks/vk/vk_club"
WEBFORM = "/api/v1/webform"
LIMIT = 256 * 1024  # the gateway's default GATEWAY_MAX_BODY_BYTES
RAW_TOPICS = [raw_topic(c).name for c in (Channel.TELEGRAM, Channel.VIBER, Channel.VK)]
JSON_TYPE = {"Content-Type": "application/json"}


def viber_signature(body: bytes, token: str = VIBER_TOKEN) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def viber_message(token: int, text_: str) -> bytes:
    event = {
        "event": "message",
        "timestamp": int(time.time() * 1000),
        "message_token": token,
        "sender": {"id": f"vbEdge{token}=", "name": "Edge"},
        "message": {"type": "text", "text": text_},
    }
    return json.dumps(event).encode()


def vk_message(event_id: str, text_: str, **event: Any) -> bytes:
    message = {"date": int(time.time()), "from_id": 501, "peer_id": 501, "id": 1, "text": text_}
    body = {
        "type": "message_new",
        "object": {"message": message},
        "group_id": VK_GROUP,
        "event_id": event_id,
        "v": "5.199",
        "secret": VK_SECRET,
        **event,
    }
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


async def raw_offsets(kafka: str) -> dict[str, int]:
    return {topic: await end_offsets(kafka, topic) for topic in RAW_TOPICS}


async def stored_once(engine: AsyncEngine, keys: list[str]) -> Counter[str]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT idempotency_key FROM messages WHERE idempotency_key = ANY(:k)"),
                {"k": keys},
            )
        ).all()
    return Counter(str(r[0]) for r in rows)


async def test_forged_missing_and_replayed_signatures_are_rejected_on_every_webhook(
    running: Stack, gateway: httpx.AsyncClient, engine: AsyncEngine, kafka: str
) -> None:
    run, base = run_id("sg"), numeric_base()
    telegram = json.dumps(telegram_update(base, base + 1, f"{run} telegram")).encode()
    viber = viber_message(base, f"{run} viber")
    vk_event = uuid.uuid4().hex
    vk = vk_message(vk_event, f"{run} vk")
    tampered_viber = viber.replace(b"viber", b"VIBER")  # same length, other content
    tg = {**JSON_TYPE, "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    before = await raw_offsets(kafka)

    refused = {
        "telegram forged": (TELEGRAM, telegram, {**tg, "X-Telegram-Bot-Api-Secret-Token": "x"}),
        "telegram missing": (TELEGRAM, telegram, JSON_TYPE),
        "telegram empty": (TELEGRAM, telegram, {**tg, "X-Telegram-Bot-Api-Secret-Token": ""}),
        "viber forged": (
            VIBER,
            viber,
            {**JSON_TYPE, "X-Viber-Content-Signature": viber_signature(viber, "not-the-token")},
        ),
        "viber missing": (VIBER, viber, JSON_TYPE),
        # A genuine signature replayed on another body: the HMAC binds the bytes.
        "viber replayed on another body": (
            VIBER,
            tampered_viber,
            {**JSON_TYPE, "X-Viber-Content-Signature": viber_signature(viber)},
        ),
        "vk forged": (VK, vk_message(vk_event, "x", secret="guess"), JSON_TYPE),
        "vk missing": (VK, vk_message(vk_event, "x", secret=None), JSON_TYPE),
        "vk other community": (VK, vk_message(vk_event, "x", group_id=VK_GROUP + 1), JSON_TYPE),
    }
    answers = {
        name: (await gateway.post(path, content=body, headers=headers)).status_code
        for name, (path, body, headers) in refused.items()
    }
    assert answers == dict.fromkeys(refused, 403)
    assert await raw_offsets(kafka) == before  # nothing refused was published

    # The Telegram and VK secrets are not bound to the body, and every provider resends
    # a webhook whose answer it missed: a replay of a genuine request is accepted like
    # that retry, and stored once (the channel's own id is the idempotency key).
    genuine = [
        (TELEGRAM, telegram, tg),
        (VIBER, viber, {**JSON_TYPE, "X-Viber-Content-Signature": viber_signature(viber)}),
        (VK, vk, JSON_TYPE),
    ]
    for path, body, headers in genuine * 2:
        response = await gateway.post(path, content=body, headers=headers)
        assert response.status_code == 200, (path, response.text)
    keys = [f"telegram:support_bot:{base}", f"viber:viber_main:{base}", f"vk:vk_club:{vk_event}"]
    await eventually(lambda: stored_once(engine, keys), lambda c: len(c) == 3, 60, "stored")
    await asyncio.sleep(1.0)  # the replays went through the pipeline too
    assert await stored_once(engine, keys) == dict.fromkeys(keys, 1)


async def send_oversized(
    port: int, path: str, headers: dict[str, str], *, declared: int | None
) -> tuple[int, int]:
    """POST a body far over the limit, slowly, over a raw connection; stop as soon as an
    answer arrives. ``declared``: a Content-Length (only 1 KiB of it is sent), or None
    for a chunked body trickled in 16 KiB chunks. Returns (status, bytes sent)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    head.append(f"Content-Length: {declared}" if declared else "Transfer-Encoding: chunked")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    answer = asyncio.create_task(reader.readline())
    sent = 0
    try:
        while not answer.done() and sent < 64 * 1024 * 1024:
            piece = b" " * (1024 if declared else 16 * 1024)
            writer.write(piece if declared else b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            sent += len(piece)
            if declared:
                break  # and wait: the declared length alone must be refused
            await asyncio.sleep(0.002)
    except ConnectionError:
        pass  # the server answered and closed while we were still sending
    try:
        status_line = await asyncio.wait_for(answer, 10)
    finally:
        writer.close()
    return int(status_line.split()[1]), sent


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (TELEGRAM, {**JSON_TYPE, "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}),
        (VIBER, {**JSON_TYPE, "X-Viber-Content-Signature": "0" * 64}),
        (VK, JSON_TYPE),
        (WEBFORM, JSON_TYPE),
    ],
    ids=["telegram", "viber", "vk", "webform"],
)
async def test_oversized_bodies_are_refused_before_they_are_read_whole(
    running: Stack, kafka: str, path: str, headers: dict[str, str]
) -> None:
    port = running.config.service_ports["gateway"]
    before = await raw_offsets(kafka)
    status, sent = await send_oversized(port, path, headers, declared=1024 * 1024 * 1024)
    assert (status, sent) == (413, 1024)  # a 1 GiB promise, refused after 1 KiB
    status, sent = await send_oversized(port, path, headers, declared=None)
    assert status == 413
    assert sent < 4 * LIMIT, sent  # refused near the limit, not after the 64 MiB
    assert await raw_offsets(kafka) == before


async def test_nesting_bombs_are_refused_with_a_4xx(
    running: Stack, gateway: httpx.AsyncClient, kafka: str
) -> None:
    bomb = b"[" * 100_000  # well under the size limit; deeper than any JSON parser recurses
    before = await raw_offsets(kafka)
    webform = await gateway.post(WEBFORM, content=bomb, headers=JSON_TYPE)
    vk = await gateway.post(VK, content=bomb, headers=JSON_TYPE)
    assert (webform.status_code, vk.status_code) == (422, 403), (webform.text, vk.text)
    assert await raw_offsets(kafka) == before


@pytest.fixture(scope="module")
async def strict_gateway(running: Stack) -> AsyncIterator[str]:
    """A second gateway replica with small rate limits (same infrastructure, same
    Redis-backed limiter as the shared one): its base URL."""
    assert running.infra is not None
    port = free_port()
    env = {
        **running.service_env["gateway"],
        "GATEWAY_WEBHOOK_RATE_LIMIT_PER_MINUTE": str(WEBHOOK_LIMIT),
        "GATEWAY_RATE_LIMIT_PER_MINUTE": str(WEBFORM_LIMIT),
    }
    child = service_child(BY_NAME["gateway"], running.infra, port, running.log_dir, env)
    child.log_path = running.log_dir / "gateway-strict.log"
    child.start()
    try:
        await asyncio.to_thread(wait_ready, [(child, port)], 60.0)
        yield f"http://127.0.0.1:{port}"
    finally:
        await asyncio.to_thread(child.stop)


WEBHOOK_LIMIT = 20
WEBFORM_LIMIT = 10


def client_from(address: str, base_url: str) -> httpx.AsyncClient:
    """A client whose connections come from ``address`` (any 127.x.y.z is loopback)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=base_url, transport=transport, timeout=15)


async def next_window_if_late() -> None:
    """The limits are per clock minute: start a flood early enough in one."""
    into = time.time() % 60
    if into > 50:
        await asyncio.sleep(60.5 - into)


async def test_a_flood_from_one_source_is_limited_while_others_get_through(
    strict_gateway: str,
) -> None:
    base = numeric_base()
    run = run_id("fl")

    def hook(n: int) -> dict[str, Any]:
        return {
            "content": json.dumps(telegram_update(base + n, base + 9_000, f"{run} #{n}")),
            "headers": {**JSON_TYPE, "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        }

    def form(n: int) -> dict[str, Any]:
        return {"json": {"email": f"{run}-{n}@example.com", "text": f"{run} form #{n}"}}

    for attempt in range(3):
        net = f"127.{uuid.uuid4().int % 200 + 20}.{uuid.uuid4().int % 250}"  # fresh sources
        flood_hook, flood_form, other = f"{net}.3", f"{net}.5", f"{net}.4"
        await next_window_if_late()
        window = int(time.time() // 60)
        async with (
            client_from(flood_hook, strict_gateway) as flooder,
            client_from(flood_form, strict_gateway) as form_flooder,
            client_from(other, strict_gateway) as bystander,
        ):
            offset = attempt * 2_000  # every attempt sends new updates (same id block)
            hooks = [flooder.post(TELEGRAM, **hook(offset + n)) for n in range(3 * WEBHOOK_LIMIT)]
            forms = [
                form_flooder.post(WEBFORM, **form(offset + n)) for n in range(3 * WEBFORM_LIMIT)
            ]
            calm = [
                *(bystander.post(TELEGRAM, **hook(offset + 1_000 + n)) for n in range(3)),
                *(bystander.post(WEBFORM, **form(offset + 1_000 + n)) for n in range(3)),
            ]
            answers = await asyncio.gather(*hooks, *forms, *calm)
        if int(time.time() // 60) == window:
            break  # (a flood that spans two windows is counted twice: send it again)

    flood_hooks = Counter(r.status_code for r in answers[: len(hooks)])
    flood_forms = Counter(r.status_code for r in answers[len(hooks) : len(hooks) + len(forms)])
    bystander_answers = [r.status_code for r in answers[len(hooks) + len(forms) :]]
    assert flood_hooks == {200: WEBHOOK_LIMIT, 429: 2 * WEBHOOK_LIMIT}
    assert flood_forms == {202: WEBFORM_LIMIT, 429: 2 * WEBFORM_LIMIT}
    assert bystander_answers == [200, 200, 200, 202, 202, 202]
    refused = [r for r in answers if r.status_code == 429]
    assert all(r.headers.get("retry-after") == "60" for r in refused)
