"""One long-lived WebSocket connection to a Simple Calls server per phone account.

Connects to ``<url>/?CID=<base64(password)>&CT=<client type>&GID=<group>&PhoneNumber=
&BroadcastEventsMask=0&BroadcastGroup=<group>&PzProtocolVersion=2``, reads events
(base64-framed over ws://, plain over wss://), hands call events to the sink, and sends
``Call`` requests (click-to-call). When the server drops the connection or cannot be
reached it reconnects with exponential backoff (reset after a connection that lasted 10 s);
close codes 4001-4007 (licence) and 4008 (authentication) are logged as such.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime

from helpdesk_common.logs import get_logger
from helpdesk_common.phone_accounts import (
    SIMPLE_CALLS_CLOSE_REASONS,
    PhoneAccountConfig,
    simple_calls_close_reason,
    simple_calls_url,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from . import frames
from .simple_calls_events import to_call_event
from .sink import CallSink

log = get_logger(__name__)
STABLE_SECONDS = 10.0
CLOSE_REASONS = SIMPLE_CALLS_CLOSE_REASONS


class NotConnected(RuntimeError):
    pass


class SimpleCallsConnection:
    def __init__(
        self,
        account: str,
        config: PhoneAccountConfig,
        password: str,
        sink: CallSink,
        *,
        initial_backoff: float,
        max_backoff: float,
    ) -> None:
        self.account = account
        self.config = config
        self._password = password
        self._sink = sink
        self._initial = initial_backoff
        self._max = max_backoff
        self._ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self.connects = 0

    @property
    def base64_framed(self) -> bool:
        return not str(self.config.url).startswith("wss://")

    def url(self) -> str:
        return simple_calls_url(self.config, self._password)

    async def run(self) -> None:
        delay = self._initial
        while True:
            connected_at: float | None = None
            try:
                async with connect(self.url(), open_timeout=10, ping_interval=20) as ws:
                    self._ws = ws
                    self.connects += 1
                    connected_at = time.monotonic()
                    log.info("simple_calls_connected", account=self.account)
                    await self._read(ws)
                    log.info("simple_calls_closed", account=self.account, code=ws.close_code)
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                reason = simple_calls_close_reason(code)
                log.warning(
                    "simple_calls_disconnected", account=self.account, code=code, reason=reason
                )
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
                log.warning(
                    "simple_calls_unreachable", account=self.account, error=type(exc).__name__
                )
            except Exception as exc:  # the sink failed (broker away): reconnect, go on
                log.error(
                    "simple_calls_connection_failed", account=self.account, error=str(exc)[:200]
                )
            finally:
                self._ws = None
            if connected_at is not None and time.monotonic() - connected_at > STABLE_SECONDS:
                delay = self._initial  # it worked for a while: start the backoff afresh
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max)

    async def _read(self, ws: ClientConnection) -> None:
        async for frame in ws:
            try:
                event = frames.parse_event(frames.decode(frame, base64_framed=self.base64_framed))
            except frames.BadFrame as exc:
                log.warning("simple_calls_bad_frame", account=self.account, error=str(exc)[:200])
                continue
            if event is None:
                continue
            call = to_call_event(self.account, self.config, event, datetime.now(UTC))
            if call is None:
                log.info("simple_calls_event_ignored", type=event.get("type"))
                continue
            await self._sink.emit([call], self.config)

    async def call(self, extension: str, to: str) -> int:
        """Send a click-to-call ``Call`` request; returns its request id."""
        ws = self._ws
        if ws is None:
            raise NotConnected(f"simple calls account {self.account!r} is not connected")
        request_id = next(self._ids)
        xml = frames.call_request(request_id, extension, to)
        await ws.send(frames.encode(xml, base64_framed=self.base64_framed))
        log.info("simple_calls_call_requested", account=self.account, request_id=request_id)
        return request_id
