"""Real infrastructure and one running system for the whole test session.

PostgreSQL, Redis and the Kafka-protocol broker start once, on free ports, with data in
a temporary folder; topics and migrations are applied as ``make up`` applies them. The
six services start once too (``running``, on first use) as separate processes, pointed
at a real SMTP server and at fake Telegram/Viber/VK servers; every test package shares
them, so no two copies of a service compete for the same records.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from devstack.processes import free_port
from devstack.services import SERVICES, wait_ready
from devstack.stack import Stack, StackConfig
from devstack.test_system import (
    Fakes,
    MailSink,
    SmtpServer,
    create_channel_accounts,
    service_env,
)
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

for _name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REDIS_URL", "NOTIFIER_SMTP_HOST"):
    os.environ.pop(_name, None)  # tests always run against their own servers
# In-process ticket-core apps of the tests trust requests without credentials, as the
# test system's ticket-core does (test_agent_roles checks the default: refused).
os.environ["TICKET_CORE_ALLOW_ANONYMOUS"] = "true"
os.environ["TELEPHONY_ALLOW_ANONYMOUS"] = "true"

# The session's shared HTTP clients: a read timeout generous enough for a loaded 2-core
# machine (several test sessions at once), where a report or a bulk change can take a while.
SLOW = httpx.Timeout(30.0, connect=10.0)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    # Not under pytest's basetemp: a pytest run that starts meanwhile resets that tree to
    # mode 0700, and PostgreSQL runs as its own unprivileged user. Removed at the end;
    # KEEP_TEST_DATA=1 keeps it (logs/ holds every server's and service's log).
    data_dir = Path(tempfile.mkdtemp(prefix="helpdesk-tests-"))
    config = StackConfig(
        data_dir=data_dir,
        pg_port=free_port(),
        redis_port=free_port(),
        kafka_port=free_port(),
        smtp_port=free_port(),
        service_ports={s.name: free_port() for s in SERVICES},
        fsync=False,
        persistent_redis=False,
    )
    stack = Stack(config)
    try:
        stack.start_infra()
        yield stack
    finally:
        stack.stop()
    if not os.environ.get("KEEP_TEST_DATA"):
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def infra(stack: Stack):  # type: ignore[no-untyped-def]
    assert stack.infra is not None
    return stack.infra


@pytest.fixture(scope="session")
async def engine(infra) -> AsyncIterator[AsyncEngine]:  # type: ignore[no-untyped-def]
    engine = create_async_engine(infra.database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def fakes() -> Iterator[Fakes]:
    servers = Fakes.start()
    yield servers
    servers.stop()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(MailSink())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mail_sink(smtp_server: SmtpServer) -> MailSink:
    return smtp_server.sink


@pytest.fixture(scope="session")
def running(stack: Stack, fakes: Fakes, mail_sink: MailSink) -> Iterator[Stack]:
    """All six services as separate processes against the session's infrastructure."""
    env = service_env(fakes, stack.config.service_ports, mail_sink.port)
    for spec in SERVICES:
        stack.start_service(spec.name, env.get(spec.name))
    wait_ready((stack.services[s.name], stack.config.service_ports[s.name]) for s in SERVICES)
    asyncio.run(
        create_channel_accounts(f"http://127.0.0.1:{stack.config.service_ports['ticket-core']}")
    )
    yield stack
    for child in stack.services.values():
        child.stop()


@pytest.fixture(scope="session")
async def gateway(running: Stack) -> AsyncIterator[httpx.AsyncClient]:
    port = running.config.service_ports["gateway"]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=SLOW) as client:
        yield client


@pytest.fixture(scope="session")
async def tickets_api(running: Stack) -> AsyncIterator[httpx.AsyncClient]:
    port = running.config.service_ports["ticket-core"]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=SLOW) as client:
        yield client
