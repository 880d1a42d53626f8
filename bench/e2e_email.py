"""IMAP arrival to stored ticket, with IDLE (issue 9's target: under 1 s), for ``bench.e2e``.

Dovecot (started as the tests start it, ``imap_server``) holds one folder, and an
email-ingest process (the real service, given that one mailbox in
``EMAIL_INGEST_MAILBOXES``) waits on it in IDLE. Mails from new senders are appended one
at a time with the stdlib ``imaplib``, each once the poller is back in IDLE (its status
API) and ``settle`` seconds have passed. Each mail is timed from APPEND's OK (the server
has the mail) to the commit of its message, with its new ticket, in PostgreSQL
(``pg_xact_commit_timestamp``), split at the inbound record's broker timestamp. The stored
message is found by its idempotency key ``email:mid:<Message-ID>``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import asyncpg
import httpx
from devstack.dovecot import USER, Dovecot
from devstack.probes import read_topic
from devstack.services import wait_ready
from devstack.stack import Stack

from .imap_server import PASSWORD, Appender
from .stats import summary_ms

MAILBOX = "e2e-mail"
FOLDER = "E2E"
OUR_ADDRESS = "support@example.com"
TIMEOUT_SECONDS = 30.0


def mail(run: str, n: int) -> tuple[str, bytes]:
    """A plain mail from a new sender, and the idempotency key its message gets."""
    message_id = f"{run}-{n}@customers.example"
    raw = (
        f"From: Customer {n} <c{n}.{run}@customers.example>\r\n"
        f"To: {OUR_ADDRESS}\r\n"
        f"Subject: Printer {n} does not print\r\n"
        f"Message-ID: <{message_id}>\r\n"
        "Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"Hello, the printer on floor {n} jams on every page.\r\n"
    ).encode()
    return f"email:mid:{message_id.lower()}", raw


def start_email_ingest(stack: Stack, dovecot: Dovecot) -> int:
    """The email-ingest service on the one mailbox (no mailbox list from ticket-core);
    returns its HTTP port."""
    box = {
        "name": MAILBOX,
        "host": "127.0.0.1",
        "port": dovecot.imap_port,
        "security": "none",
        "login": USER,
        "password": PASSWORD,
        "folder": FOLDER,
        "own_addresses": [OUR_ADDRESS],
        "idle_timeout_seconds": 600.0,
    }
    stack.start_service("email-ingest", {"EMAIL_INGEST_MAILBOXES": json.dumps([box])})
    port = stack.config.service_ports["email-ingest"]
    wait_ready([(stack.services["email-ingest"], port)])
    return port


async def _in_idle(client: httpx.AsyncClient, port: int) -> bool:
    found = (await client.get(f"http://127.0.0.1:{port}/api/v1/mailboxes")).json()
    return any(m["mailbox"] == MAILBOX and m["waiting"] and m["holding_lease"] for m in found)


async def _stored(conn: asyncpg.Connection, key: str) -> bool:
    row = await conn.fetchval("SELECT 1 FROM messages WHERE idempotency_key = $1", key)
    return row is not None


async def arrival_to_stored(
    stack: Stack, dovecot: Dovecot, dsn: str, run: str, mails: int, settle: float = 0.3
) -> dict[str, Any]:
    """Append ``mails`` mails one at a time; per mail: APPEND OK, inbound record, commit."""
    appender = Appender(dovecot.imap_port)
    appender.create(FOLDER)
    port = start_email_ingest(stack, dovecot)
    arrived: dict[str, float] = {}
    conn = await asyncpg.connect(dsn)
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            for n in range(mails):
                key, raw = mail(run, n)
                deadline = time.monotonic() + TIMEOUT_SECONDS
                while not await _in_idle(client, port):
                    if time.monotonic() > deadline:
                        raise TimeoutError("email-ingest is not waiting in IDLE")
                    await asyncio.sleep(0.01)
                await asyncio.sleep(settle)
                await asyncio.to_thread(appender.append, FOLDER, [raw])
                arrived[key] = time.time()
                while not await _stored(conn, key):
                    if time.monotonic() > deadline + TIMEOUT_SECONDS:
                        raise TimeoutError(f"mail {n} was not stored in {TIMEOUT_SECONDS} s")
                    await asyncio.sleep(0.01)
        committed = {
            r["idempotency_key"]: r["t"]
            for r in await conn.fetch(
                "SELECT idempotency_key,"
                " extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 AS t"
                " FROM messages WHERE idempotency_key = ANY($1::text[])",
                list(arrived),
            )
        }
    finally:
        await conn.close()
    assert stack.infra is not None
    published = {
        key: record.timestamp / 1000
        for record in await read_topic(stack.infra.kafka, "inbound.messages.v1")
        if (key := json.loads(record.value).get("idempotency_key")) in arrived
    }

    def ms(later: dict[str, float], earlier: dict[str, float]) -> dict[str, float]:
        return summary_ms(
            (later[k] - earlier[k]) * 1000 for k in arrived if k in later and k in earlier
        )

    return {
        "mails": mails,
        "arrival_to_stored": ms(committed, arrived),
        "stages": {
            "APPEND OK -> inbound record (IDLE push, fetch, parse, publish)": ms(
                published, arrived
            ),
            "inbound record -> commit (ticket-core)": ms(committed, published),
        },
    }
