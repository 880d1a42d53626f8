"""An HTTP client holding an agent's console session (faster than a browser for role and
validation checks) and the CSRF token the pages carry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from .console_helpers import PASSWORD, Console


@asynccontextmanager
async def logged_in_client(
    console: Console, login: str
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    async with httpx.AsyncClient(
        base_url=console.base, timeout=15, follow_redirects=False
    ) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"login": login, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        client.cookies.set("helpdesk_session", response.json()["token"])
        inbox = await client.get("/console/")
        assert inbox.status_code == 200
        marker = 'name="csrf_token" value="'
        start = inbox.text.index(marker) + len(marker)
        yield client, inbox.text[start : inbox.text.index('"', start)]
