"""Agents with logins for the auth tests: created with the service's (open) access, as an
administrator's tools would, then logged in through the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

PASSWORD = "s3cret-Passw0rd"


@dataclass
class LoggedIn:
    agent_id: int
    login: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def new_agent(api: httpx.AsyncClient, role: str = "specialist") -> tuple[int, str, str]:
    """(id, login, email) of a new agent with the password ``PASSWORD``."""
    tag = uuid.uuid4().hex[:10]
    email = f"agent-{tag}@desk.test"
    created = await api.post(
        "/api/v1/agents", json={"name": f"Agent {tag}", "email": email, "role": role}
    )
    assert created.status_code == 201, created.text
    agent_id = int(created.json()["id"])
    login = f"agent.{tag}"
    set_up = await api.put(
        f"/api/v1/agents/{agent_id}/credentials", json={"login": login, "password": PASSWORD}
    )
    assert set_up.status_code == 200, set_up.text
    assert set_up.json()["has_password"] and set_up.json()["login"] == login
    return agent_id, login, email


async def log_in(api: httpx.AsyncClient, login: str, password: str = PASSWORD) -> httpx.Response:
    return await api.post("/api/v1/auth/login", json={"login": login, "password": password})


async def logged_in(api: httpx.AsyncClient, role: str = "specialist") -> LoggedIn:
    agent_id, login, email = await new_agent(api, role)
    response = await log_in(api, login)
    assert response.status_code == 200, response.text
    return LoggedIn(agent_id, login, email, response.json()["token"])
