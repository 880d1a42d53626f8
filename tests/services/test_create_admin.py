"""The first administrator of a desk: ``python -m ticket_core.create_admin`` (what ``make
up`` runs for the local one) creates or promotes the agent; the password from standard
input logs in through the API; a weak one is refused."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import httpx
from devstack.stack import Stack

from .auth_helpers import log_in


def _create(stack: Stack, email: str, password: str) -> subprocess.CompletedProcess[str]:
    assert stack.infra is not None
    return subprocess.run(
        [sys.executable, "-m", "ticket_core.create_admin", email, "First Admin"],
        input=password + "\n",
        text=True,
        env={**os.environ, "DATABASE_URL": stack.infra.database_url},
        capture_output=True,
        timeout=60,
    )


async def test_the_first_administrator_logs_in_and_a_rerun_resets_the_password(
    running: Stack, tickets_api: httpx.AsyncClient
) -> None:
    email = f"Boss-{uuid.uuid4().hex[:8]}@Desk.test"
    made = _create(running, email, "correct horse battery")
    assert made.returncode == 0, made.stderr
    answer = await log_in(tickets_api, email.lower(), "correct horse battery")
    assert answer.status_code == 200, answer.text
    assert answer.json()["agent"]["role"] == "administrator"

    again = _create(running, email, "another long password")
    assert again.returncode == 0, again.stderr
    assert (await log_in(tickets_api, email.lower(), "correct horse battery")).status_code == 401
    assert (await log_in(tickets_api, email.lower(), "another long password")).status_code == 200

    weak = _create(running, f"x{email}", "short")
    assert weak.returncode == 2 and "at least" in weak.stderr
    assert (await log_in(tickets_api, f"x{email}".lower(), "short")).status_code == 401
