"""Logged-in agents with phone extensions and their push WebSockets, for the telephony
tests (agents created with the test system's open service access, as an administrator's
tools would; logged in through ticket-core's API like the console)."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from devstack.stack import Stack
from websockets.asyncio.client import ClientConnection, connect

PASSWORD = "s3cret-Passw0rd"
TIMEOUT = 20.0


@dataclass
class Agent:
    agent_id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def new_extension() -> str:
    return f"7{random.randrange(10**7):07d}"


async def logged_in_agent(core: httpx.AsyncClient, extension: str | None = None) -> Agent:
    tag = uuid.uuid4().hex[:10]
    created = await core.post(
        "/api/v1/agents",
        json={"name": f"Agent {tag}", "email": f"phone-{tag}@desk.test", "role": "specialist"},
    )
    assert created.status_code == 201, created.text
    agent_id = int(created.json()["id"])
    if extension is not None:
        patched = await core.patch(
            f"/api/v1/agents/{agent_id}", json={"phone_extension": extension}
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["phone_extension"] == extension
    login = f"phone.{tag}"
    credentials = await core.put(
        f"/api/v1/agents/{agent_id}/credentials", json={"login": login, "password": PASSWORD}
    )
    assert credentials.status_code == 200, credentials.text
    answer = await core.post("/api/v1/auth/login", json={"login": login, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return Agent(agent_id, answer.json()["token"])


async def next_push(socket: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    """The next message that is not a heartbeat (bounded wait)."""
    async with asyncio.timeout(timeout):
        while True:
            message: dict[str, Any] = json.loads(await socket.recv())
            if message["kind"] == "ping":
                await socket.send(json.dumps({"kind": "pong"}))
                continue
            if message["kind"] != "pong":
                return message


async def push_socket(running: Stack, agent: Agent) -> ClientConnection:
    port = running.config.service_ports["gateway"]
    socket = await connect(f"ws://127.0.0.1:{port}/ws/agents?token={agent.token}")
    hello = await next_push(socket)
    assert hello["kind"] == "hello" and hello["agent_id"] == agent.agent_id
    return socket
