"""The desk's branding as every console page shows it: the main colour (a CSS custom
property in ``/console/branding.css``), the console title (in ``<title>`` and the top bar),
the logo and the favicon (served by ``/console/branding/{logo|favicon}``).

Pages are rendered synchronously, so the branding is cached per process: the route class
reloads it at most every ``ttl`` seconds (other replicas see a change within that time),
and the branding page replaces it at once after a save here.
"""

from __future__ import annotations

import re
import time
from typing import Any

from helpdesk_common.logs import get_logger
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..desk_settings import Branding, ImageRef
from ..desk_settings_repo import branding as load_branding

log = get_logger(__name__)
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOUR = Branding().main_colour


def colour_of(branding: Branding) -> str:
    """The main colour, checked again before it is written into CSS."""
    colour = branding.main_colour
    return colour.lower() if HEX_COLOUR.match(colour) else DEFAULT_COLOUR


def stylesheet(branding: Branding) -> str:
    colour = colour_of(branding)
    return (
        "/* desk branding */\n"
        f":root {{ --brand: {colour}; --accent: {colour}; }}\n"
        ".topbar { border-bottom: 4px solid var(--brand); }\n"
    )


def image_url(name: str, ref: ImageRef | None) -> str | None:
    return f"/console/branding/{name}?v={ref.sha256[:16]}" if ref else None


def brand(branding: Branding) -> dict[str, Any]:
    """What ``base.html`` prints."""
    return {
        "title": branding.console_title,
        "colour": colour_of(branding),
        "css_url": f"/console/branding.css?v={colour_of(branding)[1:]}",
        "logo_url": image_url("logo", branding.logo),
        "favicon_url": image_url("favicon", branding.favicon),
    }


class BrandingView:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl: float = 5.0) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._loaded_at = float("-inf")
        self.current = Branding()

    def replace(self, branding: Branding) -> None:
        self.current = branding
        self._loaded_at = time.monotonic()

    async def refresh(self) -> None:
        """Reload when older than the TTL; on a database error keep what is shown."""
        if time.monotonic() - self._loaded_at < self._ttl:
            return
        self._loaded_at = time.monotonic()  # one reload per TTL, even when it fails
        try:
            async with self._sessions() as session:
                self.current = await load_branding(session)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("console_branding_not_loaded", error=type(exc).__name__)
