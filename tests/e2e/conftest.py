from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from devstack.processes import free_port
from devstack.services import SERVICES, wait_ready
from devstack.stack import Stack


@dataclass
class MailSink:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""

    port: int = field(default_factory=free_port)
    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )  # type: ignore[arg-type]
        return "250 Message accepted"


@pytest.fixture(scope="session")
def mail_sink() -> Iterator[MailSink]:
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture(scope="session")
def running(stack: Stack, mail_sink: MailSink) -> Iterator[Stack]:
    """All six services as separate processes against the session's infrastructure."""
    extra_env = {
        "gateway": {"GATEWAY_RATE_LIMIT_PER_MINUTE": "100000"},
        "notifier": {"NOTIFIER_SMTP_PORT": str(mail_sink.port)},
    }
    for spec in SERVICES:
        stack.start_service(spec.name, extra_env.get(spec.name))
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
