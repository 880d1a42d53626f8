"""Who is calling: ticket-core's caller card for a number (``GET /internal/v1/calls/caller``):
the contact and company matched by the last N digits and the contact's open tickets.
A lookup that fails yields an empty card: the push still goes out, without a name."""

from __future__ import annotations

from typing import Any

import httpx
from helpdesk_common.logs import get_logger

log = get_logger(__name__)
CALLER_PATH = "/internal/v1/calls/caller"


class CallerCards:
    def __init__(self, base_url: str, token: str | None, timeout_seconds: float = 3.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_seconds
        )

    async def card(self, number: str, digits: int) -> dict[str, Any]:
        try:
            response = await self._http.get(
                CALLER_PATH, params={"number": number, "digits": digits}
            )
        except httpx.HTTPError as exc:
            log.warning("caller_card_failed", error=type(exc).__name__)
            return {}
        if response.status_code != 200:
            log.warning("caller_card_failed", status=response.status_code)
            return {}
        card: dict[str, Any] = response.json()
        return card

    async def aclose(self) -> None:
        await self._http.aclose()
