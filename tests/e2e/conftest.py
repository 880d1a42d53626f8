from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from devstack.services import SERVICES, wait_ready
from devstack.stack import Stack


@pytest.fixture(scope="session")
def running(stack: Stack) -> Iterator[Stack]:
    """All six services as separate processes against the session's infrastructure."""
    for spec in SERVICES:
        extra = {"GATEWAY_RATE_LIMIT_PER_MINUTE": "100000"} if spec.name == "gateway" else None
        stack.start_service(spec.name, extra)
    wait_ready((stack.services[s.name], stack.config.service_ports[s.name]) for s in SERVICES)
    yield stack
    for child in stack.services.values():
        child.stop()


@pytest.fixture(scope="session")
async def gateway(running: Stack) -> AsyncIterator[httpx.AsyncClient]:
    port = running.config.service_ports["gateway"]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
async def tickets_api(running: Stack) -> AsyncIterator[httpx.AsyncClient]:
    port = running.config.service_ports["ticket-core"]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield client
