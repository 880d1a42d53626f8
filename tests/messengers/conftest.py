"""Messenger channels: fake provider servers and the four services that carry them.

The services (ticket-core, messenger-ingest, notifier, gateway) run as separate
processes on their own ports and consumer groups (so they never share partitions with
the e2e suite's services), pointed at the fakes through their base-URL settings.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # msgr_fakes, msgr_payloads

import httpx
import pytest
from cryptography.fernet import Fernet
from devstack.processes import Child, free_port
from devstack.services import BY_NAME, service_child, wait_ready
from devstack.stack import Stack
from msgr_fakes import FakeTelegram, FakeViber, FakeVk

INTERNAL_TOKEN = "internal-test-token-5c1e"
MEDIA_LINK_KEY = "media-link-test-key"
TELEGRAM_TOKEN = "700100:AAH-fake-telegram-token"
TELEGRAM_SECRET = "tg-webhook-secret_42"
VIBER_TOKEN = "4453b6ac12345678-fake-viber-token"
VK_TOKEN = "vk1.a.fake-community-token"
VK_SECRET = "vk-callback-secret"
VK_CONFIRMATION = "a1b2c3d4"
VK_GROUP = 77


@dataclass
class Fakes:
    telegram: FakeTelegram
    viber: FakeViber
    vk: FakeVk


@dataclass
class MessengerSystem:
    stack: Stack
    fakes: Fakes
    ports: dict[str, int]
    children: dict[str, Child]

    @property
    def kafka(self) -> str:
        assert self.stack.infra is not None
        return self.stack.infra.kafka

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"


@pytest.fixture(scope="session")
def fakes() -> Iterator[Fakes]:
    servers = Fakes(FakeTelegram(), FakeViber(), FakeVk())
    servers.telegram.tokens.add(TELEGRAM_TOKEN)
    servers.viber.tokens.add(VIBER_TOKEN)
    servers.vk.tokens.add(VK_TOKEN)
    for server in (servers.telegram, servers.viber, servers.vk):
        server.start()
    yield servers
    for server in (servers.telegram, servers.viber, servers.vk):
        server.stop()


def _service_env(fakes: Fakes, ports: dict[str, int]) -> dict[str, dict[str, str]]:
    core = f"http://127.0.0.1:{ports['ticket-core']}"
    common = {"MEDIA_LINK_KEY": MEDIA_LINK_KEY}
    return {
        "ticket-core": {
            "TICKET_CORE_SECRETS_KEY": Fernet.generate_key().decode(),
            "TICKET_CORE_INTERNAL_TOKEN": INTERNAL_TOKEN,
            "TICKET_CORE_CONSUMER_GROUP": "msgr-ticket-core",
        },
        "messenger-ingest": {
            "MESSENGER_INGEST_TICKET_CORE_URL": core,
            "MESSENGER_INGEST_INTERNAL_TOKEN": INTERNAL_TOKEN,
            "MESSENGER_INGEST_TELEGRAM_API_BASE_URL": fakes.telegram.base_url,
            "MESSENGER_INGEST_CONSUMER_GROUP": "msgr-messenger-ingest",
        },
        "notifier": {
            **common,
            "NOTIFIER_TICKET_CORE_URL": core,
            "NOTIFIER_INTERNAL_TOKEN": INTERNAL_TOKEN,
            "NOTIFIER_TELEGRAM_API_BASE_URL": fakes.telegram.base_url,
            "NOTIFIER_VIBER_API_BASE_URL": f"{fakes.viber.base_url}/pa",
            "NOTIFIER_VK_API_BASE_URL": fakes.vk.base_url,
            "NOTIFIER_VK_RPS_DELAY": "0",
            "NOTIFIER_MAX_RETRY_WAIT_SECONDS": "1",
            "NOTIFIER_PUBLIC_MEDIA_BASE_URL": f"http://127.0.0.1:{ports['gateway']}",
            "NOTIFIER_CONSUMER_GROUP": "msgr-notifier",
        },
        "gateway": {
            **common,
            "GATEWAY_TICKET_CORE_URL": core,
            "GATEWAY_INTERNAL_TOKEN": INTERNAL_TOKEN,
            "GATEWAY_ACCOUNT_NEGATIVE_TTL_SECONDS": "0.5",
        },
    }


@pytest.fixture(scope="package")
async def system(stack: Stack, fakes: Fakes) -> AsyncIterator[MessengerSystem]:
    assert stack.infra is not None
    names = ("ticket-core", "messenger-ingest", "notifier", "gateway")
    ports = {name: free_port() for name in names}
    env = _service_env(fakes, ports)
    children: dict[str, Child] = {}
    try:
        for name in names:
            child = service_child(
                BY_NAME[name], stack.infra, ports[name], stack.log_dir / "msgr", env[name]
            )
            child.start()
            children[name] = child
        wait_ready((children[n], ports[n]) for n in names)
        running = MessengerSystem(stack, fakes, ports, children)
        await _create_accounts(running.url("ticket-core"))
        yield running
    finally:
        for child in children.values():
            child.stop()


async def _create_accounts(core: str) -> None:
    accounts = [
        {
            "channel": "telegram",
            "name": "support_bot",
            "display_name": "Support bot",
            "secrets": {"token": TELEGRAM_TOKEN, "webhook_secret": TELEGRAM_SECRET},
        },
        {
            "channel": "viber",
            "name": "viber_main",
            "config": {"sender_name": "Acme Support"},
            "secrets": {"token": VIBER_TOKEN},
        },
        {
            "channel": "vk",
            "name": "vk_club",
            "config": {"group_id": VK_GROUP},
            "secrets": {
                "token": VK_TOKEN,
                "webhook_secret": VK_SECRET,
                "confirmation": VK_CONFIRMATION,
            },
        },
    ]
    async with httpx.AsyncClient(base_url=core, timeout=10) as client:
        for account in accounts:
            response = await client.post("/api/v1/channel-accounts", json=account)
            assert response.status_code == 201, response.text


@pytest.fixture(scope="package")
async def gateway(system: MessengerSystem) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=system.url("gateway"), timeout=15) as client:
        yield client


@pytest.fixture(scope="package")
async def core(system: MessengerSystem) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=system.url("ticket-core"), timeout=15) as client:
        yield client
