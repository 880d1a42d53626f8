"""Contacts with portal access, their tickets, and logged-in portal browser pages for the
portal tests. Agents act through the existing REST API with their own session (bearer
token), as an agent at the desk would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from playwright.async_api import Page

from ..console.console_helpers import PASSWORD as AGENT_PASSWORD
from ..console.console_helpers import AgentPage, Console, unique

PASSWORD = "portal-Passw0rd"
XSS = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2;alert(2)</script>'


@dataclass
class Customer:
    contact_id: int
    email: str
    name: str
    token: str = ""  # a portal API session (to set up tickets quickly)

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Portal:
    console: Console
    agent_headers: dict[str, str]  # an administrator's session

    @property
    def api(self) -> httpx.AsyncClient:
        return self.console.api

    def url(self, path: str) -> str:
        return f"{self.console.base}/portal{path}"

    def client(self) -> httpx.AsyncClient:
        """An HTTP client for page requests (cookies set by hand: they are Secure)."""
        return httpx.AsyncClient(base_url=self.console.base, timeout=15, follow_redirects=False)

    async def agent_call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.api.request(method, path, headers=self.agent_headers, **kwargs)

    async def customer(
        self, company_id: int | None = None, access: str = "own", domain: str = "portal.test"
    ) -> Customer:
        name = unique("Customer ")
        email = f"{unique('c')}@{domain}"
        created = await self.agent_call(
            "POST",
            "/api/v1/contacts",
            json={"name": name, "emails": [email], "company_id": company_id},
        )
        assert created.status_code == 201, created.text
        who = Customer(int(created.json()["id"]), email, name)
        granted = await self.agent_call(
            "PUT",
            f"/api/v1/contacts/{who.contact_id}/portal-access",
            json={"password": PASSWORD, "access": access},
        )
        assert granted.status_code == 200, granted.text
        login = await self.api.post(
            "/api/v1/portal/auth/login", json={"login": email, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        who.token = login.json()["token"]
        return who

    async def ticket(self, who: Customer, subject: str, text: str = "Please help") -> int:
        made = await self.api.post(
            "/api/v1/portal/tickets", json={"subject": subject, "text": text}, headers=who.bearer
        )
        assert made.status_code == 201, made.text
        return int(made.json()["ticket_id"])

    async def detail(self, ticket_id: int) -> dict[str, Any]:
        found = await self.agent_call("GET", f"/api/v1/tickets/{ticket_id}")
        assert found.status_code == 200, found.text
        detail: dict[str, Any] = found.json()
        return detail

    async def change(self, ticket_id: int, **fields: Any) -> None:
        changed = await self.agent_call("PATCH", f"/api/v1/tickets/{ticket_id}", json=fields)
        assert changed.status_code == 200, changed.text

    async def type_ids(self) -> tuple[list[int], list[int]]:
        """(public type ids, internal type ids)."""
        found = await self.agent_call("GET", "/api/v1/ticket-types", params={"limit": 200})
        assert found.status_code == 200, found.text
        items = found.json()["items"]
        return (
            [int(t["id"]) for t in items if not t["internal"]],
            [int(t["id"]) for t in items if t["internal"]],
        )

    async def priority_ids(self) -> list[int]:
        found = await self.agent_call("GET", "/api/v1/priorities", params={"limit": 200})
        assert found.status_code == 200, found.text
        return [int(p["id"]) for p in found.json()["items"]]

    async def open_page(self) -> AgentPage:
        return await self.console.open_page()

    async def log_in(self, who: Customer) -> AgentPage:
        opened = await self.console.open_page()
        page = opened.page
        await page.goto(self.url("/login"))
        await page.fill("input[name=login]", who.email)
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(self.url("/"))
        return opened

    async def cookie_of(self, page: Page, name: str) -> str:
        for cookie in await page.context.cookies():
            if cookie["name"] == name:
                return str(cookie["value"])
        raise AssertionError(f"no cookie {name}")


async def make_portal(console: Console) -> Portal:
    admin = await console.agent("administrator")
    login = await console.api.post(
        "/api/v1/auth/login", json={"login": admin.login, "password": AGENT_PASSWORD}
    )
    assert login.status_code == 200, login.text
    return Portal(console, {"Authorization": f"Bearer {login.json()['token']}"})
