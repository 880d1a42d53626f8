"""``python -m devstack up``: the whole system on one machine, no Docker.

Starts PostgreSQL, Redis and a Kafka-protocol broker from PyPI wheels (unless
``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` / ``REDIS_URL`` point elsewhere), creates
the topics, runs the migrations, starts the six services, waits until each is ready and
prints where to go. Ctrl-C (or SIGTERM) stops everything it started, services first.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from helpdesk_common.topic_admin import ensure_topics

from .infra import KafkaBroker, MailCatcher, Postgres, Redis
from .processes import Child
from .services import SERVICES, Infra, service_child, wait_ready
from .wiring import LOCAL_ADMIN, LocalKeys, service_wiring


@dataclass
class StackConfig:
    data_dir: Path
    pg_port: int = 15432
    redis_port: int = 16379
    kafka_port: int = 19092
    smtp_port: int = 2525
    service_ports: dict[str, int] = field(
        default_factory=lambda: {s.name: s.default_port for s in SERVICES}
    )
    fsync: bool = True
    persistent_redis: bool = True


@dataclass
class Stack:
    config: StackConfig
    postgres: Postgres | None = None
    redis: Redis | None = None
    kafka: KafkaBroker | None = None
    mail: MailCatcher | None = None
    infra: Infra | None = None
    services: dict[str, Child] = field(default_factory=dict)
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def log_dir(self) -> Path:
        return self.config.data_dir / "logs"

    def start_infra(self) -> Infra:
        cfg = self.config
        database_url = os.environ.get("DATABASE_URL")
        if not database_url:
            self.postgres = Postgres(cfg.data_dir / "postgres", cfg.pg_port, self.log_dir)
            self.postgres.start(fsync=cfg.fsync)
            database_url = self.postgres.url
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            self.redis = Redis(
                cfg.data_dir / "redis", cfg.redis_port, self.log_dir, cfg.persistent_redis
            )
            self.redis.start()
            redis_url = self.redis.url
        kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not kafka:
            self.kafka = KafkaBroker(cfg.kafka_port, self.log_dir)
            self.kafka.start()
            kafka = self.kafka.bootstrap
        if not os.environ.get("NOTIFIER_SMTP_HOST"):
            self.mail = MailCatcher(cfg.data_dir / "mail", cfg.smtp_port, self.log_dir)
            self.mail.start()
        asyncio.run(ensure_topics(kafka))
        from ticket_core.migrate import upgrade

        upgrade(database_url)
        self.infra = Infra(kafka, database_url, redis_url, cfg.data_dir / "blobs")
        return self.infra

    def start_service(self, name: str, extra_env: dict[str, str] | None = None) -> Child:
        """Start (or restart) a service; a restart reuses the environment it was first given."""
        assert self.infra is not None
        if extra_env is not None:
            self.service_env[name] = extra_env
        extra_env = self.service_env.get(name)
        spec = next(s for s in SERVICES if s.name == name)
        env: dict[str, str] = {}
        if name == "notifier" and self.mail is not None:
            env = {"NOTIFIER_SMTP_HOST": "127.0.0.1", "NOTIFIER_SMTP_PORT": str(self.mail.port)}
        env.update(extra_env or {})
        child = service_child(spec, self.infra, self.config.service_ports[name], self.log_dir, env)
        child.start()
        self.services[name] = child
        return child

    def start_services(self) -> LocalKeys:
        """Every service, wired to the others with this system's own keys (``make up``),
        and the local administrator (``ticket_core.create_admin``)."""
        keys = LocalKeys.load_or_create(self.config.data_dir / "local-keys.json")
        wiring = service_wiring(self.config.service_ports, keys)
        for spec in SERVICES:
            self.start_service(spec.name, wiring.get(spec.name, {}))
        wait_ready((self.services[s.name], self.config.service_ports[s.name]) for s in SERVICES)
        self.create_admin(LOCAL_ADMIN, keys.admin_password)
        return keys

    def create_admin(self, email: str, password: str) -> None:
        assert self.infra is not None
        env = {**os.environ, "DATABASE_URL": self.infra.database_url}
        subprocess.run(
            [sys.executable, "-m", "ticket_core.create_admin", email],
            input=password + "\n",
            text=True,
            env=env,
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        for child in reversed(list(self.services.values())):
            child.stop()
        for server in (self.mail, self.kafka, self.redis, self.postgres):
            if server is not None:
                server.stop()


def up(data_dir: Path) -> int:
    stack = Stack(StackConfig(data_dir=data_dir))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        print(f"Starting infrastructure (data in {data_dir}) ...", flush=True)
        infra = stack.start_infra()
        print("Starting services ...", flush=True)
        keys = stack.start_services()
        ports = stack.config.service_ports
        print(
            "\nAll six services are ready.\n"
            f"  web form:        POST http://127.0.0.1:{ports['gateway']}/api/v1/webform\n"
            f"  tickets API:     http://127.0.0.1:{ports['ticket-core']}/api/v1/tickets"
            f"  (docs: http://127.0.0.1:{ports['ticket-core']}/docs)\n"
            f"  agent console:   http://127.0.0.1:{ports['ticket-core']}/console/\n"
            f"  administrator:   {LOCAL_ADMIN} / {keys.admin_password}\n"
            f"  API token:       {keys.api_token}  (Authorization: Bearer ...)\n"
            f"  health:          http://127.0.0.1:<port>/readyz, metrics at /metrics\n"
            f"  Kafka: {infra.kafka}   PostgreSQL: {infra.database_url}\n"
            f"  Redis: {infra.redis_url}\n"
            f"  outgoing mail:   {data_dir / 'mail'} (SMTP port {stack.config.smtp_port})\n"
            f"  logs:            {stack.log_dir}/<service>.log\n"
            "Press Ctrl-C to stop everything.",
            flush=True,
        )
        while not stop.wait(1.0):
            for child in stack.services.values():
                child.ensure_alive()
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("\nStopping ...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)
    return 0
