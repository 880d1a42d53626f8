"""Two gateway processes on one port (GATEWAY_HTTP_REUSE_PORT, SO_REUSEPORT): the kernel
spreads connections over both, every webhook is answered once and published once, and
the port keeps serving when one of them stops."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from devstack.probes import eventually
from devstack.processes import Child, free_port
from devstack.services import BY_NAME, service_child, wait_ready
from devstack.stack import Stack
from devstack.test_system import TELEGRAM_SECRET

pytestmark = pytest.mark.e2e

TELEGRAM = "/webhooks/telegram/support_bot"
HOOKS = 40


def update(n: int, text_: str) -> bytes:
    message = {
        "message_id": n % 1_000_000,
        "date": int(time.time()),
        "chat": {"id": 770_001, "type": "private", "first_name": "Port"},
        "from": {"id": 770_001, "is_bot": False, "first_name": "Port"},
        "text": text_,
    }
    return json.dumps({"update_id": n, "message": message}).encode()


def accepted(child: Child) -> int:
    return child.log_path.read_bytes().count(b'"webhook_accepted"')


@pytest.fixture(scope="module")
async def shared_port(running: Stack) -> AsyncIterator[tuple[int, list[Child]]]:
    assert running.infra is not None
    port = free_port()
    env = {**running.service_env["gateway"], "GATEWAY_HTTP_REUSE_PORT": "true"}
    children = []
    for i in (1, 2):
        base = service_child(BY_NAME["gateway"], running.infra, port, running.log_dir, env)
        child = dataclasses.replace(
            base, name=f"gateway-port-{i}", log_path=running.log_dir / f"gateway-port-{i}.log"
        )
        child.start()
        children.append(child)
    try:
        await asyncio.to_thread(wait_ready, [(c, port) for c in children], 60.0)

        async def started() -> bool:
            return all(b'"service_started"' in c.log_path.read_bytes() for c in children)

        await eventually(started, bool, 60, "both gateways started")
        yield port, children
    finally:
        for child in children:
            await asyncio.to_thread(child.stop)


async def post_each_on_a_new_connection(port: int, bodies: list[bytes]) -> list[int]:
    async def one(body: bytes) -> int:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=15) as c:
            headers = {
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
            }
            return (await c.post(TELEGRAM, content=body, headers=headers)).status_code

    return list(await asyncio.gather(*(one(b) for b in bodies)))


async def test_two_processes_share_the_port_and_each_webhook_is_published_once(
    shared_port: tuple[int, list[Child]],
) -> None:
    port, children = shared_port
    base = uuid.uuid4().int % 10**9 + 10**10
    counted = [accepted(c) for c in children]
    statuses = await post_each_on_a_new_connection(
        port, [update(base + n, f"shared port #{n}") for n in range(HOOKS)]
    )
    assert statuses == [200] * HOOKS
    per_process = [accepted(c) - n for c, n in zip(children, counted, strict=True)]
    assert sum(per_process) == HOOKS  # "webhook_accepted" is logged after the broker ack
    assert all(n > 0 for n in per_process), per_process  # both took connections


async def test_the_port_keeps_serving_when_one_process_stops(
    shared_port: tuple[int, list[Child]],
) -> None:
    port, children = shared_port
    await asyncio.to_thread(children[0].stop)
    base = uuid.uuid4().int % 10**9 + 2 * 10**10
    statuses = await post_each_on_a_new_connection(
        port, [update(base + n, f"one left #{n}") for n in range(10)]
    )
    assert statuses == [200] * 10
