"""Real infrastructure for the whole test session, started by the embedded stack's code.

PostgreSQL, Redis and the Kafka-protocol broker start once, on free ports, with data
in a temporary folder; topics and migrations are applied as ``make up`` applies them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from devstack.processes import free_port
from devstack.services import SERVICES
from devstack.stack import Stack, StackConfig
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

for _name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REDIS_URL"):
    os.environ.pop(_name, None)  # tests always run against their own servers


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir: Path = tmp_path_factory.mktemp("stack")
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


@pytest.fixture(scope="session")
def infra(stack: Stack):  # type: ignore[no-untyped-def]
    assert stack.infra is not None
    return stack.infra


@pytest.fixture(scope="session")
async def engine(infra) -> AsyncIterator[AsyncEngine]:  # type: ignore[no-untyped-def]
    engine = create_async_engine(infra.database_url)
    yield engine
    await engine.dispose()
