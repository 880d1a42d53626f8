"""Messenger channels through the session's running services (tests/conftest.py), which
are pointed at the fake Telegram/Viber/VK servers through their base-URL settings."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # msgr_helpers, msgr_payloads

import httpx
import pytest
from devstack.processes import Child
from devstack.stack import Stack
from devstack.test_system import (
    INTERNAL_TOKEN,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    VIBER_TOKEN,
    VK_CONFIRMATION,
    VK_GROUP,
    VK_SECRET,
    VK_TOKEN,
    Fakes,
)

# Re-exported for the tests of this package.
__all__ = [
    "INTERNAL_TOKEN",
    "TELEGRAM_SECRET",
    "TELEGRAM_TOKEN",
    "VIBER_TOKEN",
    "VK_CONFIRMATION",
    "VK_GROUP",
    "VK_SECRET",
    "VK_TOKEN",
    "Fakes",
    "MessengerSystem",
]


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


@pytest.fixture(scope="package")
def system(running: Stack, fakes: Fakes) -> MessengerSystem:
    """The session's running services (see tests/conftest.py), seen as the messenger path."""
    return MessengerSystem(running, fakes, running.config.service_ports, running.services)


@pytest.fixture(scope="package")
async def core(system: MessengerSystem) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=system.url("ticket-core"), timeout=15) as client:
        yield client
