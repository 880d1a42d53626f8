"""Fault injection against the session's running system (tests/conftest.py).

Every test breaks one thing (a service killed, a server restarted, a provider failing)
and restores it before it ends (same port, same data, same environment), because the
other test packages share the running system. Random choices (kill points) come from a
``random.Random`` seeded with ``FAULTS_SEED`` (default 9) and the test's name, so a run
can be repeated: the seed is printed in every failure message that depends on it.
"""

from __future__ import annotations

import random
import sys
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # faults_helpers

import httpx
import pytest
from devstack.stack import Stack
from faults_helpers import SEED


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    return random.Random(f"{SEED}:{request.node.name}")


@pytest.fixture(scope="package")
def kafka(running: Stack) -> str:
    assert running.infra is not None
    return running.infra.kafka


@pytest.fixture(scope="package")
async def core(running: Stack) -> AsyncIterator[httpx.AsyncClient]:
    port = running.config.service_ports["ticket-core"]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        yield client
