"""The six services as child processes, pointed at one set of infrastructure."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from .processes import Child, wait_until


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    env_prefix: str
    default_port: int


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("ticket-core", "ticket_core", "TICKET_CORE_", 8081),
    ServiceSpec("messenger-ingest", "messenger_ingest", "MESSENGER_INGEST_", 8083),
    ServiceSpec("notifier", "notifier", "NOTIFIER_", 8085),
    ServiceSpec("email-ingest", "email_ingest", "EMAIL_INGEST_", 8082),
    ServiceSpec("telephony", "telephony", "TELEPHONY_", 8084),
    ServiceSpec("gateway", "gateway", "GATEWAY_", 8080),
)
BY_NAME = {s.name: s for s in SERVICES}


@dataclass(frozen=True)
class Infra:
    """Where the services find their infrastructure."""

    kafka: str
    database_url: str
    redis_url: str
    blob_dir: Path


def service_child(
    spec: ServiceSpec,
    infra: Infra,
    port: int,
    log_dir: Path,
    extra_env: dict[str, str] | None = None,
) -> Child:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka,
        "DATABASE_URL": infra.database_url,
        "REDIS_URL": infra.redis_url,
        "BLOB_DIR": str(infra.blob_dir),
        f"{spec.env_prefix}HTTP_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    return Child(
        spec.name, [sys.executable, "-m", spec.module], log_dir / f"{spec.name}.log", env=env
    )


def is_ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def wait_ready(children: Iterable[tuple[Child, int]], timeout: float = 90.0) -> None:
    for child, port in children:

        def ready(child: Child = child, port: int = port) -> bool:
            child.ensure_alive()
            return is_ready(port)

        wait_until(ready, timeout, f"{child.name} on port {port}", interval=0.25)
