"""Messenger channels through the session's running services (tests/conftest.py), which
are pointed at the fake Telegram/Viber/VK servers through their base-URL settings."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # msgr_helpers, msgr_payloads

import httpx
import pytest
from devstack.stack import Stack
from devstack.test_system import (
    Fakes,
)
from msgr_helpers import MessengerSystem


@pytest.fixture(scope="package")
def system(running: Stack, fakes: Fakes) -> MessengerSystem:
    """The session's running services (see tests/conftest.py), seen as the messenger path."""
    return MessengerSystem(running, fakes, running.config.service_ports, running.services)


@pytest.fixture(scope="package")
async def core(system: MessengerSystem) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=system.url("ticket-core"), timeout=15) as client:
        yield client
