"""The fake Simple Calls server itself (devstack.fake_pbx): it must never touch the global
``random`` from its thread, or Hypothesis, generating examples in the test thread at the
same moment, warns "Do not use the `random` module inside strategies" (websockets draws
every keepalive ping's payload from ``random``, so the fake sends no pings of its own)."""

from __future__ import annotations

import asyncio
import base64

from devstack.fake_pbx import FakeSimpleCalls
from websockets.asyncio.client import connect


async def test_the_fake_pbx_answers_pings_but_never_sends_its_own() -> None:
    pbx = FakeSimpleCalls("secret")
    pbx.start()
    try:
        cid = base64.b64encode(b"secret").decode()
        async with connect(f"{pbx.url}/?CID={cid}", ping_interval=None) as ws:
            await asyncio.to_thread(pbx.wait_clients, 1, 10.0)
            await asyncio.wait_for(await ws.ping(b"1234"), 10)  # the client's pings: answered
            server = pbx._server
            assert server is not None
            (connection,) = server.connections
            assert connection.ping_interval is None
    finally:
        pbx.stop()
