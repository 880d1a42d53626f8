"""The email-ingest service as a process: a mailbox from ``EMAIL_INGEST_MAILBOXES`` is
polled, its mail published, and ticket-core turns it into a ticket.

ticket-core is the one the e2e ``running`` fixture started if it is up, otherwise one of
our own on a free port (``tests/e2e`` fixtures are not needed).
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from devstack.processes import Child, free_port
from devstack.services import BY_NAME, service_child, wait_ready
from devstack.stack import Stack
from redis.asyncio import Redis

from .conftest import PASSWORD, Imap, InboundTap, mail

pytestmark = pytest.mark.e2e


async def start_child(stack: Stack, service: str, env: dict[str, str]) -> tuple[Child, int]:
    assert stack.infra is not None
    port = free_port()
    child = service_child(BY_NAME[service], stack.infra, port, stack.log_dir, env)
    child.start()
    try:
        await asyncio.to_thread(wait_ready, [(child, port)], 60.0)
    except BaseException:
        child.stop()
        raise
    return child, port


@pytest.fixture
async def ticket_core(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    running = stack.services.get("ticket-core")
    own: Child | None = None
    if running is not None and running.alive:
        port = stack.config.service_ports["ticket-core"]
    else:
        own, port = await start_child(stack, "ticket-core", {})
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield client
    if own is not None:
        await asyncio.to_thread(own.stop)


async def tickets_for(api: httpx.AsyncClient, email: str) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/tickets", params={"contact_email": email})
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_service_ingests_a_mailbox_from_its_environment(
    stack: Stack,
    make_mailbox,
    imap: Imap,
    tap: InboundTap,
    redis: Redis,
    ticket_core: httpx.AsyncClient,
) -> None:
    box = make_mailbox(idle_timeout_seconds=30.0)
    prefix = f"email-ingest-e2e-{box.name}"
    env = {
        "EMAIL_INGEST_MAILBOXES": json.dumps(
            [{**box.model_dump(mode="json"), "password": PASSWORD}]
        ),
        "EMAIL_INGEST_REDIS_PREFIX": prefix,
        "EMAIL_INGEST_LEASE_TTL_SECONDS": "5",
        "EMAIL_INGEST_BACKOFF_INITIAL_SECONDS": "0.2",
    }
    sender = f"{box.name}@example.com"
    child, port = await start_child(stack, "email-ingest", env)
    try:
        imap.append(box.folder, mail(box.name, 1, sender=sender))
        (record,) = await tap.wait_for(box.account, 1, timeout=30)
        assert record["sender"]["email"] == sender
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as api:
            (status,) = (await api.get("/api/v1/mailboxes")).json()
        assert status["holding_lease"] and status["published"] == 1
        assert PASSWORD not in json.dumps(status)

        deadline = asyncio.get_running_loop().time() + 30
        while not (tickets := await tickets_for(ticket_core, sender)):
            assert asyncio.get_running_loop().time() < deadline, "no ticket for the mail"
            await asyncio.sleep(0.3)
        assert tickets[0]["subject"] == f"{box.name} question 1"
    finally:
        returncode = await asyncio.to_thread(child.stop)
    assert returncode == -signal.SIGTERM  # uvicorn re-raises the signal after a clean stop
    assert await redis.get(f"{prefix}:lease:{box.name}") is None  # released on SIGTERM
    assert "$HelpdeskProcessed" in imap.flags(box.folder)[1]
    log = child.log_path.read_text()
    assert PASSWORD not in log and "Hello, this is mail" not in log
    # The pollers stop before the broker does (their last publish needs it).
    # on_stopping hooks (the pollers) run after "service_stopping" and before the broker
    # stops; "service_stopped" comes after the broker stopped.
    # Only this mailbox's poller: other tests' mailbox accounts (ticket-core's, polled by
    # this process too) may stop earlier, e.g. on a wrong password.
    order = [
        line["event"]
        for line in map(_json_line, log.splitlines())
        if line.get("event") in ("service_stopping", "service_stopped")
        or (line.get("event") == "poller_stopped" and line.get("mailbox") == box.name)
    ]
    # The log file is shared with the session's earlier email-ingest processes: the last
    # stop is this one's.
    assert order[-3:] == ["service_stopping", "poller_stopped", "service_stopped"]


def _json_line(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
