"""Browser tests of the customer portal: the console tests' browser (Debian's Chromium,
one per session) and ``Console`` helper (agents, the open REST API, screenshots into
tests/console/screenshots/), plus the portal's own helpers (``portal_helpers``)."""

from __future__ import annotations

import pytest

from ..console import conftest as console_fixtures
from ..console.console_helpers import Console
from .portal_helpers import Portal, make_portal

# the console tests' fixtures, reused: one browser per session, the Console helper
browser = console_fixtures.browser
console = console_fixtures.console


@pytest.fixture
async def portal(console: Console) -> Portal:
    return await make_portal(console)
