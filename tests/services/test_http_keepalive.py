"""Idle HTTP/1.1 connections stay open longer than a client's or proxy's idle timeout.

uvicorn's default closes an idle connection after 5 s, the same as httpx's pool expiry: a
client reusing its connection at that moment got a read error instead of an answer (a
console test failed that way on CI). Every service now keeps idle connections 75 s.
"""

from __future__ import annotations

import asyncio

import pytest
from devstack.services import SERVICES
from devstack.stack import Stack

pytestmark = pytest.mark.asyncio

IDLE_SECONDS = 6.5  # past uvicorn's default of 5 s


async def get_on(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)
    return head


async def test_an_idle_connection_is_still_served_after_the_old_default(running: Stack) -> None:
    connections = [
        await asyncio.open_connection("127.0.0.1", running.config.service_ports[spec.name])
        for spec in SERVICES
    ]
    for reader, writer in connections:
        assert (await get_on(reader, writer)).startswith(b"HTTP/1.1 200")
    await asyncio.sleep(IDLE_SECONDS)
    for (reader, writer), spec in zip(connections, SERVICES, strict=True):
        head = await get_on(reader, writer)
        assert head.startswith(b"HTTP/1.1 200"), (spec.name, head)
        writer.close()
