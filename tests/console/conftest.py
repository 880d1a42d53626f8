"""Browser tests of the agent console: one headless Chromium (Debian's, at
/usr/bin/chromium, installed by scripts/install-test-servers.sh; never `playwright
install`) for the session, a fresh browser context (cookies) per agent, the running
system of tests/conftest.py behind it. Screenshots go to tests/console/screenshots/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from devstack.stack import Stack
from playwright.async_api import Browser, async_playwright

from .console_helpers import Console

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parent / "screenshots"
HAVE_CHROMIUM = CHROMIUM.exists()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.skip("no /usr/bin/chromium: run scripts/install-test-servers.sh")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield chromium
        await chromium.close()


@pytest.fixture(scope="session")
def console(running: Stack, browser: Browser, tickets_api: httpx.AsyncClient) -> Console:
    SCREENSHOTS.mkdir(exist_ok=True)
    port = running.config.service_ports["ticket-core"]
    return Console(f"http://127.0.0.1:{port}", browser, tickets_api, SCREENSHOTS)
