"""Mailboxes configured through ticket-core's API, polled by the running email-ingest.

An email channel account created with ``POST /api/v1/channel-accounts`` (IMAP settings
in ``config``, the password in ``secrets``) is picked up by the session's email-ingest
(it re-reads the accounts every 0.5 s): an appended mail becomes a ticket. Disabling
it stops the poller (lease released, nothing read meanwhile); enabling it again reads
what arrived meanwhile; a changed folder restarts it on the new folder; deleting it
stops it. Bad configs are refused with 422; the password is in no answer and no log.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from devstack.probes import eventually
from devstack.stack import Stack
from devstack.test_system import INTERNAL_TOKEN
from redis.asyncio import Redis

from .conftest import OUR_ADDRESS, PASSWORD, USER, Dovecot, Imap, InboundTap, mail, until

pytestmark = pytest.mark.e2e
TIMEOUT = 30.0
ACCOUNTS = "/api/v1/channel-accounts"


@pytest.fixture
async def ingest_api(running: Stack) -> AsyncIterator[httpx.AsyncClient]:
    port = running.config.service_ports["email-ingest"]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield client


@pytest.fixture
async def accounts(tickets_api: httpx.AsyncClient) -> AsyncIterator[list[str]]:
    """Names of email accounts a test created; deleted at the end."""
    made: list[str] = []
    yield made
    for name in made:
        await tickets_api.delete(f"{ACCOUNTS}/email/{name}")


def imap_config(dovecot: Dovecot, folder: str, **overrides: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": dovecot.imap_port,
        "security": "none",
        "login": USER,
        "folder": folder,
        "own_addresses": [OUR_ADDRESS],
        "poll_interval_seconds": 0.3,
        "idle_timeout_seconds": 30,
        **overrides,
    }


async def polled(api: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    response = await api.get("/api/v1/mailboxes")
    response.raise_for_status()
    return {m["mailbox"]: m for m in response.json()}


async def tickets_for(api: httpx.AsyncClient, email: str) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/tickets", params={"contact_email": email})
    response.raise_for_status()
    return list(response.json()["items"])


def no_password(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text


async def test_a_mailbox_created_through_the_api_is_polled_until_disabled_or_deleted(
    running: Stack,
    dovecot: Dovecot,
    imap: Imap,
    tap: InboundTap,
    redis: Redis,
    tickets_api: httpx.AsyncClient,
    ingest_api: httpx.AsyncClient,
    accounts: list[str],
) -> None:
    name = f"mb{uuid.uuid4().hex[:8]}"
    folder, other = f"F{name}", f"G{name}"
    imap.create(folder)
    imap.create(other)
    sender = f"{name}@client.example"

    created = await tickets_api.post(
        ACCOUNTS,
        json={
            "channel": "email",
            "name": name,
            "display_name": "Support mailbox",
            "config": imap_config(dovecot, folder),
            "secrets": {"password": PASSWORD},
        },
    )
    assert created.status_code == 201, created.text
    accounts.append(name)
    assert created.json()["secret_names"] == ["password"]
    listed = await tickets_api.get(ACCOUNTS, params={"channel": "email"})
    one = await tickets_api.get(f"{ACCOUNTS}/email/{name}")
    no_password(created.text, listed.text, one.text)

    # The running email-ingest starts polling it; an appended mail becomes a ticket.
    status = await eventually(
        lambda: polled(ingest_api), lambda s: s.get(name, {}).get("holding_lease"), TIMEOUT, "poll"
    )
    assert status[name]["origin"] == "account" and status[name]["folder"] == folder
    imap.append(folder, mail(name, 1, sender=sender))
    (ticket,) = await eventually(
        lambda: tickets_for(tickets_api, sender), lambda t: len(t) == 1, TIMEOUT, "ticket"
    )
    assert ticket["subject"] == f"{name} question 1" and ticket["channel"] == "email"
    await until(lambda: "$HelpdeskProcessed" in imap.flags(folder)[1], TIMEOUT, "flagged")

    # Disabled: the poller stops and releases its lease; mail that arrives is left alone.
    patched = await tickets_api.patch(f"{ACCOUNTS}/email/{name}", json={"enabled": False})
    assert patched.status_code == 200 and not patched.json()["enabled"]
    await eventually(lambda: polled(ingest_api), lambda s: name not in s, TIMEOUT, "stopped")
    assert await redis.get(f"email-ingest:lease:{name}") is None
    imap.append(folder, mail(name, 2, sender=sender))
    await asyncio.sleep(1.5)  # three refreshes
    assert "$HelpdeskProcessed" not in imap.flags(folder)[2]
    assert len(tap.of(name)) == 1

    # Enabled again: what arrived meanwhile is read (the checkpoint is kept).
    await tickets_api.patch(f"{ACCOUNTS}/email/{name}", json={"enabled": True})
    await tap.wait_for(name, 2, timeout=TIMEOUT)

    # A changed setting restarts the poller with it: now the other folder is read.
    patched = await tickets_api.patch(
        f"{ACCOUNTS}/email/{name}", json={"config": {"folder": other}}
    )
    assert patched.status_code == 200, patched.text
    await eventually(
        lambda: polled(ingest_api),
        lambda s: s.get(name, {}).get("folder") == other and s[name]["holding_lease"],
        TIMEOUT,
        "restarted on the other folder",
    )
    imap.append(other, mail(name, 3, sender=sender))
    records = await tap.wait_for(name, 3, timeout=TIMEOUT)
    assert records[-1]["subject"] == f"{name} question 3"

    # Deleted: polling stops.
    assert (await tickets_api.delete(f"{ACCOUNTS}/email/{name}")).status_code == 204
    accounts.remove(name)
    await eventually(lambda: polled(ingest_api), lambda s: name not in s, TIMEOUT, "deleted")
    assert (await tickets_api.get(f"{ACCOUNTS}/email/{name}")).status_code == 404
    assert await redis.get(f"email-ingest:lease:{name}") is None
    imap.append(other, mail(name, 4, sender=sender))
    await asyncio.sleep(1.5)
    assert len(tap.of(name)) == 3

    logs = [running.services[s].log_path.read_text() for s in ("email-ingest", "ticket-core")]
    no_password(*logs)
    assert f'"mailbox": "{name}"' in logs[0]  # the log is about this mailbox, without secrets


async def test_a_wrong_password_shows_in_the_status_but_never_in_it(
    running: Stack,
    dovecot: Dovecot,
    imap: Imap,
    tickets_api: httpx.AsyncClient,
    ingest_api: httpx.AsyncClient,
    accounts: list[str],
) -> None:
    name, wrong = f"mb{uuid.uuid4().hex[:8]}", f"wrong-{uuid.uuid4().hex}"
    imap.create(f"F{name}")
    response = await tickets_api.post(
        ACCOUNTS,
        json={
            "channel": "email",
            "name": name,
            "config": imap_config(dovecot, f"F{name}"),
            "secrets": {"password": wrong},
        },
    )
    assert response.status_code == 201, response.text
    accounts.append(name)
    status = await eventually(
        lambda: polled(ingest_api),
        lambda s: s.get(name, {}).get("connect_failures", 0) >= 1,
        TIMEOUT,
        "login refused",
    )
    assert "ImapAuthError" in status[name]["last_error"]

    # The right password, through a PATCH of the secret: the poller restarts and logs in.
    fixed = await tickets_api.patch(
        f"{ACCOUNTS}/email/{name}", json={"secrets": {"password": PASSWORD}}
    )
    assert fixed.status_code == 200 and fixed.json()["secret_names"] == ["password"]
    await eventually(
        lambda: polled(ingest_api),
        lambda s: s.get(name, {}).get("connected") and not s[name]["connect_failures"],
        TIMEOUT,
        "connected with the new password",
    )
    texts = [str(status), fixed.text]
    texts += [running.services[s].log_path.read_text() for s in ("email-ingest", "ticket-core")]
    for text in texts:
        assert wrong not in text and PASSWORD not in text


BAD_CONFIGS: list[tuple[dict[str, Any], dict[str, str], str]] = [
    ({"port": 70000}, {}, "config.port"),
    ({"host": ""}, {}, "config.host"),
    ({"security": "ssl"}, {}, "config.security"),
    ({"processed": "delete"}, {}, "processed must be 'flag' or 'move:<Folder>'"),
    ({"ticket_token_pattern": r"\[#\d+\]"}, {}, "exactly one group"),
    ({"ticket_token_pattern": "(["}, {}, "not a regular expression"),
    ({"own_addresses": ["support"]}, {}, "own_addresses"),
    ({"poll_interval_seconds": 0}, {}, "config.poll_interval_seconds"),
    ({"hots": "typo"}, {}, "config.hots: unknown setting"),
    ({"password": PASSWORD}, {}, "the password goes in secrets"),
    ({}, {"password": ""}, "need secrets: password"),
]


@pytest.mark.parametrize(("config", "secrets", "message"), BAD_CONFIGS)
async def test_bad_email_accounts_are_refused(
    dovecot: Dovecot,
    tickets_api: httpx.AsyncClient,
    config: dict[str, Any],
    secrets: dict[str, str],
    message: str,
) -> None:
    name = f"bad{uuid.uuid4().hex[:8]}"
    body = {
        "channel": "email",
        "name": name,
        "config": imap_config(dovecot, "INBOX", **config),
        "secrets": {"password": PASSWORD, **secrets},
    }
    response = await tickets_api.post(ACCOUNTS, json=body)
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
    no_password(response.text)
    assert (await tickets_api.get(f"{ACCOUNTS}/email/{name}")).status_code == 404


async def test_patches_are_checked_against_the_merged_account(
    dovecot: Dovecot, tickets_api: httpx.AsyncClient, accounts: list[str]
) -> None:
    name = f"mb{uuid.uuid4().hex[:8]}"
    body = {
        "channel": "email",
        "name": name,
        "enabled": False,
        "config": imap_config(dovecot, "INBOX"),
        "secrets": {"password": PASSWORD},
    }
    assert (await tickets_api.post(ACCOUNTS, json=body)).status_code == 201
    accounts.append(name)
    url = f"{ACCOUNTS}/email/{name}"
    for patch, message in [
        ({"config": {"host": None}}, "config.host: Field required"),
        ({"config": {"processed": "move:"}}, "processed must be"),
        ({"secrets": {"password": None}}, "need secrets: password"),
    ]:
        response = await tickets_api.patch(url, json=patch)
        assert response.status_code == 422 and message in response.json()["detail"], response.text
        no_password(response.text)
    after = (await tickets_api.get(url)).json()
    assert after["config"]["host"] == "127.0.0.1" and after["secret_names"] == ["password"]
    ok = await tickets_api.patch(url, json={"config": {"processed": "move:Done"}})
    assert ok.status_code == 200 and ok.json()["config"]["processed"] == "move:Done"
    bad_name = {**body, "name": "_hidden"}
    response = await tickets_api.post(ACCOUNTS, json=bad_name)
    assert response.status_code == 422 and "start with a letter or digit" in response.text


async def test_the_internal_listing_needs_the_internal_token(
    dovecot: Dovecot, tickets_api: httpx.AsyncClient, accounts: list[str]
) -> None:
    name = f"mb{uuid.uuid4().hex[:8]}"
    body = {
        "channel": "email",
        "name": name,
        "enabled": False,
        "config": imap_config(dovecot, "INBOX"),
        "secrets": {"password": PASSWORD},
    }
    assert (await tickets_api.post(ACCOUNTS, json=body)).status_code == 201
    accounts.append(name)
    url = "/internal/v1/channel-accounts/email"
    assert (await tickets_api.get(url)).status_code == 401
    wrong = await tickets_api.get(url, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    found = await tickets_api.get(url, headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"})
    assert found.status_code == 200
    mine = next(a for a in found.json() if a["name"] == name)
    assert mine["channel"] == "email" and mine["enabled"] is False
    assert mine["secrets"] == {"password": PASSWORD}  # services only, with the token
    assert all(a["channel"] == "email" for a in found.json())
