"""Agents, tickets and logged-in browser pages for the console tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from devstack.probes import eventually
from playwright.async_api import Browser, BrowserContext, Dialog, Page

PASSWORD = "s3cret-Passw0rd"
TIMEOUT = 30.0


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@dataclass
class Agent:
    id: int
    login: str
    name: str


@dataclass
class AgentPage:
    """A browser context (its own cookies) logged in as one agent."""

    agent: Agent
    context: BrowserContext
    page: Page
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def close(self) -> None:
        await self.context.close()


@dataclass
class Console:
    base: str  # ticket-core
    browser: Browser
    api: httpx.AsyncClient  # ticket-core's REST API with the (open) service access
    screenshots: Path

    def url(self, path: str) -> str:
        return f"{self.base}/console{path}"

    async def agent(self, role: str = "administrator") -> Agent:
        name = unique("Agent ")
        created = await self.api.post(
            "/api/v1/agents",
            json={"name": name, "email": f"{unique('agent-')}@desk.test", "role": role},
        )
        assert created.status_code == 201, created.text
        agent_id = int(created.json()["id"])
        login = unique("agent.")
        set_up = await self.api.put(
            f"/api/v1/agents/{agent_id}/credentials", json={"login": login, "password": PASSWORD}
        )
        assert set_up.status_code == 200, set_up.text
        return Agent(agent_id, login, name)

    async def open_page(self) -> AgentPage:
        context = await self.browser.new_context(viewport={"width": 1360, "height": 900})
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT * 1000)
        opened = AgentPage(Agent(0, "", ""), context, page)

        async def on_dialog(dialog: Dialog) -> None:
            opened.dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: opened.errors.append(str(error)))
        return opened

    async def log_in(self, agent: Agent) -> AgentPage:
        opened = await self.open_page()
        opened.agent = agent
        page = opened.page
        await page.goto(self.url("/login"))
        await page.fill("input[name=login]", agent.login)
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(self.url("/"))
        await page.wait_for_selector("#live-state.on")  # the push socket said hello
        return opened

    async def tickets_of(self, email: str) -> list[dict[str, Any]]:
        response = await self.api.get("/api/v1/tickets", params={"contact_email": email})
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def ticket_for(self, email: str) -> dict[str, Any]:
        found = await eventually(
            lambda: self.tickets_of(email), lambda t: len(t) == 1, TIMEOUT, f"ticket of {email}"
        )
        return found[0]

    async def messages_of(self, ticket_id: int) -> list[dict[str, Any]]:
        response = await self.api.get(f"/api/v1/tickets/{ticket_id}")
        response.raise_for_status()
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    async def shot(self, page: Page, name: str) -> None:
        await page.screenshot(path=str(self.screenshots / f"{name}.png"), full_page=True)
