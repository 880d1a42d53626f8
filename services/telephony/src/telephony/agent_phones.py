"""Who is on an extension, and an agent's extension: ticket-core's internal lookups
(``helpdesk_common.agent_phones``) with a short cache (``TELEPHONY_AGENT_CACHE_TTL_SECONDS``,
a few seconds: an extension changed on an agent's profile applies within that time).

Both lookups raise ``TransientError`` when ticket-core cannot answer; callers decide
(a ringing push falls back to the account's map or everybody, click-to-call answers 503).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from helpdesk_common.agent_phones import AGENT_PHONE_OF_PATH, AGENT_PHONE_PATH, AgentPhone
from helpdesk_common.consuming import TransientError

_Key = tuple[str, str]


class AgentPhones:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        ttl_seconds: float = 5.0,
        timeout_seconds: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=timeout_seconds,
            transport=transport,
        )
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[_Key, tuple[float, AgentPhone | None]] = {}

    async def on_extension(self, extension: str) -> AgentPhone | None:
        """The active agent whose profile carries ``extension``, or None."""
        return await self._cached(
            ("extension", extension), AGENT_PHONE_PATH, {"extension": extension}
        )

    async def of_agent(self, agent_id: int) -> AgentPhone | None:
        """The agent (their extension may be None), or None for an unknown agent."""
        return await self._cached(
            ("agent", str(agent_id)), AGENT_PHONE_OF_PATH.format(agent_id=agent_id), None
        )

    async def _cached(
        self, key: _Key, path: str, params: dict[str, str] | None
    ) -> AgentPhone | None:
        entry = self._cache.get(key)
        if entry is not None and entry[0] > self._clock():
            return entry[1]
        found = await self._fetch(path, params)
        if len(self._cache) > 10_000:  # bounded: extensions and agents are few
            self._cache.clear()
        self._cache[key] = (self._clock() + self._ttl, found)
        return found

    async def _fetch(self, path: str, params: dict[str, str] | None) -> AgentPhone | None:
        try:
            response = await self._http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise TransientError(f"agent phone lookup failed: {type(exc).__name__}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise TransientError(f"agent phone lookup answered {response.status_code}")
        return AgentPhone.model_validate_json(response.content)

    async def aclose(self) -> None:
        await self._http.aclose()
