"""Telephony through the session's running services (tests/conftest.py): the generic PBX
webhook through the gateway, the fake Simple Calls server (devstack.fake_pbx) that the
telephony service connects to, and call records in ticket-core. The phone (and SMS)
channel accounts are created here unless another package made them."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # phone_helpers

import httpx
import pytest
from devstack.stack import Stack
from devstack.test_system import Fakes, ensure_sms_and_phone_accounts


@pytest.fixture(scope="package")
async def core(running: Stack, fakes: Fakes) -> AsyncIterator[httpx.AsyncClient]:
    url = f"http://127.0.0.1:{running.config.service_ports['ticket-core']}"
    await ensure_sms_and_phone_accounts(url, fakes)
    async with httpx.AsyncClient(base_url=url, timeout=15) as client:
        yield client


@pytest.fixture(scope="package")
async def telephony(running: Stack) -> AsyncIterator[httpx.AsyncClient]:
    url = f"http://127.0.0.1:{running.config.service_ports['telephony']}"
    async with httpx.AsyncClient(base_url=url, timeout=15) as client:
        yield client


@pytest.fixture(scope="package")
def kafka(running: Stack) -> str:
    assert running.infra is not None
    return running.infra.kafka


@pytest.fixture(scope="package")
def redis_url(running: Stack) -> str:
    assert running.infra is not None
    return running.infra.redis_url
