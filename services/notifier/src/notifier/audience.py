"""Which agents a ticket's pushes go to: ticket-core's internal audience lookup
(``helpdesk_common.agent_push.AUDIENCE_PATH``), one request per batch of events."""

from __future__ import annotations

from collections.abc import Iterable

import httpx
from helpdesk_common.agent_push import AUDIENCE_PATH
from helpdesk_common.consuming import TransientError


class TicketAudience:
    def __init__(self, base_url: str, token: str, timeout: float = 10.0) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, headers={"Authorization": f"Bearer {token}"}
        )

    async def of(self, ticket_ids: Iterable[int]) -> dict[int, list[int]]:
        wanted = sorted(set(ticket_ids))
        if not wanted:
            return {}
        try:
            response = await self._client.get(
                AUDIENCE_PATH, params={"ids": ",".join(map(str, wanted))}
            )
        except httpx.HTTPError as exc:
            raise TransientError(f"ticket-core audience lookup: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise TransientError(f"ticket-core audience lookup: HTTP {response.status_code}")
        response.raise_for_status()
        found = response.json()["tickets"]
        return {int(k): [int(a) for a in v] for k, v in found.items()}

    async def aclose(self) -> None:
        await self._client.aclose()
