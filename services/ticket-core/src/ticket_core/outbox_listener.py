"""Wakes the outbox relay when any process commits outbox rows.

Every statement that inserts outbox rows sends ``NOTIFY helpdesk_outbox`` (migration
0016), delivered when its transaction commits. A ticket-core process that runs the relay
(``run_background``) holds one connection that listens, so rows written by an inbound-only
process, the API or another replica are published at once rather than at the next sweep.
When the connection drops (PostgreSQL restarted) it is opened again; meanwhile the
relay's sweep still publishes every few seconds, so nothing waits for the listener.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import asyncpg
from helpdesk_common.logs import get_logger
from sqlalchemy.engine import make_url

log = get_logger(__name__)
CHANNEL = "helpdesk_outbox"


def plain_dsn(database_url: str) -> str:
    """asyncpg's DSN for the service's SQLAlchemy URL (``postgresql+asyncpg://``)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def listen_for_outbox(dsn: str, wake: Callable[[], None], retry_seconds: float = 1.0) -> None:
    """Call ``wake`` on every notification, until cancelled."""
    while True:
        try:
            connection = await asyncpg.connect(dsn)
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            log.warning("outbox_listen_failed", error=str(exc)[:300])
        else:
            await _listen(connection, wake)
        await asyncio.sleep(retry_seconds)


async def _listen(connection: asyncpg.Connection, wake: Callable[[], None]) -> None:
    """Until the connection is lost."""
    closed = asyncio.Event()

    def on_notification(*_: Any) -> None:
        wake()

    try:
        connection.add_termination_listener(lambda _: closed.set())
        await connection.add_listener(CHANNEL, on_notification)
        log.info("outbox_listening", channel=CHANNEL)
        wake()  # rows committed while nobody listened
        await closed.wait()
        log.warning("outbox_listen_lost")
    except (OSError, asyncpg.PostgresError) as exc:
        log.warning("outbox_listen_failed", error=str(exc)[:300])
    finally:
        with contextlib.suppress(Exception):
            await connection.close(timeout=1)
